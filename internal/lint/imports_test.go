package lint

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/warren-mq/warren/"

// forbidden lists, per package tree, the project packages it must not import
// (directly or not): imports run cmd → proxy → mapping, store, meta,
// amqpwire; meta reaches live sessions through an interface proxy
// implements.
var forbidden = map[string][]string{
	"amqpwire": {"mapping", "store", "meta", "proxy", "cmd"},
	"mapping":  {"store/internal", "meta", "proxy", "cmd"},
	"store":    {"mapping", "meta", "proxy", "cmd"},
	"meta":     {"proxy", "store", "mapping", "cmd"},
	"proxy":    {"cmd"},
}

type listedPackage struct {
	ImportPath string
	Deps       []string
}

func TestImportGraphRunsOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-json", module+"...").Output()
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p listedPackage
		require.NoError(t, dec.Decode(&p))
		rel := strings.TrimPrefix(p.ImportPath, module)
		top, _, _ := strings.Cut(rel, "/")
		rules, ok := forbidden[top]
		if !ok {
			continue
		}
		checked++
		for _, dep := range p.Deps {
			depRel, isOurs := strings.CutPrefix(dep, module)
			if !isOurs {
				continue
			}
			for _, bad := range rules {
				if depRel == bad || strings.HasPrefix(depRel, bad+"/") {
					t.Errorf("%s imports %s: imports must run cmd → proxy → mapping, store, meta, amqpwire", p.ImportPath, dep)
				}
			}
		}
	}
	require.Greater(t, checked, 4, "go list found too few packages; is the module path right?")
}
