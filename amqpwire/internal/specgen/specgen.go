// Package specgen turns the AMQP 0-9-1 spec XML (RabbitMQ's
// amqp0-9-1.stripped.extended.xml, shipped in github.com/rabbitmq/amqp091-go)
// into the Go source of amqpwire's constants and method structs.
//
// It is used by amqpwire/gen.go (run with go generate) and by the amqpwire
// test that fails when the checked-in generated file is stale.
package specgen

import (
	"bytes"
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"go/format"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
)

// ErrSpec reports a spec XML that the generator cannot turn into Go.
var ErrSpec = errors.New("specgen: bad spec")

//go:embed spec.tmpl
var specTemplate string

type xmlSpec struct {
	Constants []xmlConstant `xml:"constant"`
	Domains   []xmlDomain   `xml:"domain"`
	Classes   []xmlClass    `xml:"class"`
}

type xmlConstant struct {
	Name  string `xml:"name,attr"`
	Value int    `xml:"value,attr"`
	Class string `xml:"class,attr"`
}

type xmlDomain struct {
	Name string `xml:"name,attr"`
	Type string `xml:"type,attr"`
}

type xmlClass struct {
	Name       string      `xml:"name,attr"`
	Index      int         `xml:"index,attr"`
	Properties []xmlField  `xml:"field"`
	Methods    []xmlMethod `xml:"method"`
}

type xmlMethod struct {
	Name        string        `xml:"name,attr"`
	Index       int           `xml:"index,attr"`
	Synchronous int           `xml:"synchronous,attr"`
	Content     int           `xml:"content,attr"`
	Responses   []xmlResponse `xml:"response"`
	Fields      []xmlField    `xml:"field"`
}

type xmlResponse struct {
	Name string `xml:"name,attr"`
}

type xmlField struct {
	Name     string `xml:"name,attr"`
	Domain   string `xml:"domain,attr"`
	Type     string `xml:"type,attr"`
	Reserved int    `xml:"reserved,attr"`
}

// Constant is one spec constant with its Go name.
type Constant struct {
	GoName string
	Name   string // spec name, e.g. "frame-error"
	Upper  string // RabbitMQ's reply-text name, e.g. "FRAME_ERROR"
	Value  int
	Reply  bool // a reply code (>= 200)
}

// Class is one spec class.
type Class struct {
	GoName     string
	Name       string
	Index      int
	Methods    []*Method
	Properties []Field
}

// Method is one spec method.
type Method struct {
	GoName      string // ClassMethod, e.g. BasicPublish
	FullName    string // "basic.publish"
	ClassIndex  int
	Index       int
	Synchronous bool // the spec names a response
	Content     bool
	Fields      []Field
	Ops         []Op
}

// Field is one argument of a method (or one property of a class).
type Field struct {
	GoName   string
	Name     string
	Type     string // bit octet short long longlong shortstr longstr timestamp table
	Reserved bool
}

// Op is one encoding step: a single field, or a run of consecutive bit
// fields that share an octet.
type Op struct {
	Field Field   // when Bits is nil
	Bits  []Field // bit fields of one octet, bit 0 first
}

// GoType is the Go type of a field.
func (f Field) GoType() string {
	switch f.Type {
	case "bit":
		return "bool"
	case "octet":
		return "uint8"
	case "short":
		return "uint16"
	case "long":
		return "uint32"
	case "longlong", "timestamp":
		return "uint64"
	case "shortstr", "longstr":
		return "string"
	case "table":
		return "Table"
	}
	return ""
}

// Generate returns the gofmt-ed Go source of the generated file.
func Generate(specXML []byte) ([]byte, error) {
	var spec xmlSpec
	if err := xml.Unmarshal(specXML, &spec); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	data, err := buildModel(&spec)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("spec").Parse(specTemplate)
	if err != nil {
		return nil, fmt.Errorf("specgen: template: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("specgen: template: %w", err)
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("specgen: gofmt: %w\n%s", err, buf.Bytes())
	}
	return src, nil
}

type model struct {
	Frames  []Constant
	Replies []Constant
	Classes []*Class
	Methods []*Method
}

func buildModel(spec *xmlSpec) (*model, error) {
	m := &model{}
	for _, c := range spec.Constants {
		k := Constant{GoName: goName(c.Name), Name: c.Name, Value: c.Value,
			Upper: strings.ToUpper(strings.ReplaceAll(c.Name, "-", "_"))}
		if c.Value >= 200 && !strings.HasPrefix(c.Name, "frame-") {
			k.Reply = true
			m.Replies = append(m.Replies, k)
			continue
		}
		if c.Name == "frame-error" {
			k.Reply = true
			m.Replies = append(m.Replies, k)
			continue
		}
		m.Frames = append(m.Frames, k)
	}
	domains := map[string]string{}
	for _, d := range spec.Domains {
		domains[d.Name] = d.Type
	}
	for _, xc := range spec.Classes {
		c := &Class{GoName: goName(xc.Name), Name: xc.Name, Index: xc.Index}
		for _, xf := range xc.Properties {
			f, err := field(xf, domains, c.Name)
			if err != nil {
				return nil, err
			}
			c.Properties = append(c.Properties, f)
		}
		for _, xm := range xc.Methods {
			mm, err := method(c, xm, domains)
			if err != nil {
				return nil, err
			}
			c.Methods = append(c.Methods, mm)
			m.Methods = append(m.Methods, mm)
		}
		m.Classes = append(m.Classes, c)
	}
	return m, nil
}

func method(c *Class, xm xmlMethod, domains map[string]string) (*Method, error) {
	mm := &Method{
		GoName:      c.GoName + goName(xm.Name),
		FullName:    c.Name + "." + xm.Name,
		ClassIndex:  c.Index,
		Index:       xm.Index,
		Synchronous: len(xm.Responses) > 0,
		Content:     xm.Content == 1,
	}
	for _, xf := range xm.Fields {
		f, err := field(xf, domains, mm.FullName)
		if err != nil {
			return nil, err
		}
		mm.Fields = append(mm.Fields, f)
	}
	mm.Ops = ops(mm.Fields)
	return mm, nil
}

func field(xf xmlField, domains map[string]string, where string) (Field, error) {
	f := Field{Name: xf.Name, Type: xf.Type, Reserved: xf.Reserved == 1}
	if f.Type == "" {
		f.Type = domains[xf.Domain]
	}
	if f.GoType() == "" {
		return f, fmt.Errorf("%w: %s field %s: unknown type %q", ErrSpec, where, xf.Name, f.Type)
	}
	f.GoName = fieldGoName(xf.Name)
	return f, nil
}

// ops groups consecutive bit fields into octets of at most eight bits.
func ops(fields []Field) []Op {
	var out []Op
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if f.Type != "bit" {
			out = append(out, Op{Field: f})
			continue
		}
		if n := len(out); n > 0 && out[n-1].Bits != nil && len(out[n-1].Bits) < 8 && fields[i-1].Type == "bit" {
			out[n-1].Bits = append(out[n-1].Bits, f)
			continue
		}
		out = append(out, Op{Bits: []Field{f}})
	}
	return out
}

// fieldGoName names a field: Go case, with the exceptions the contract
// (docs/amqpwire-api.md) lists.
func fieldGoName(name string) string {
	switch name {
	case "class-id":
		return "FailedClassID" // ClassID() is a method of every struct
	case "method-id":
		return "FailedMethodID"
	case "nowait":
		return "NoWait"
	}
	return goName(name)
}

// goName turns "consumer-tag" into "ConsumerTag" and "message-id" into
// "MessageID".
func goName(name string) string {
	var b strings.Builder
	for _, w := range strings.Split(name, "-") {
		if w == "" {
			continue
		}
		if w == "id" {
			b.WriteString("ID")
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// zeroBytes is the wire form of a reserved (always zero) field.
var zeroBytes = map[string]string{
	"octet": "0", "short": "0, 0", "long": "0, 0, 0, 0",
	"longlong": "0, 0, 0, 0, 0, 0, 0, 0", "timestamp": "0, 0, 0, 0, 0, 0, 0, 0",
	"shortstr": "0", "longstr": "0, 0, 0, 0", "table": "0, 0, 0, 0",
}

// Encode is the Go statement(s) that append op to dst.
func (op Op) Encode() string {
	if op.Bits != nil {
		var b strings.Builder
		live := false
		for _, f := range op.Bits {
			live = live || !f.Reserved
		}
		if !live {
			return "dst = append(dst, 0)"
		}
		b.WriteString("var bits uint8\n")
		for i, f := range op.Bits {
			if !f.Reserved {
				fmt.Fprintf(&b, "if m.%s {\nbits |= 1 << %d\n}\n", f.GoName, i)
			}
		}
		b.WriteString("dst = append(dst, bits)")
		return b.String()
	}
	f := op.Field
	if f.Reserved {
		return fmt.Sprintf("dst = append(dst, %s) // %s", zeroBytes[f.Type], f.Name)
	}
	switch f.Type {
	case "octet":
		return fmt.Sprintf("dst = append(dst, m.%s)", f.GoName)
	case "short":
		return fmt.Sprintf("dst = binary.BigEndian.AppendUint16(dst, m.%s)", f.GoName)
	case "long":
		return fmt.Sprintf("dst = binary.BigEndian.AppendUint32(dst, m.%s)", f.GoName)
	case "longlong", "timestamp":
		return fmt.Sprintf("dst = binary.BigEndian.AppendUint64(dst, m.%s)", f.GoName)
	case "shortstr":
		return fmt.Sprintf("dst = appendShortstr(dst, m.%s)", f.GoName)
	case "longstr":
		return fmt.Sprintf("dst = appendLongstr(dst, m.%s)", f.GoName)
	case "table":
		return fmt.Sprintf("dst = appendTableArg(dst, m.%s)", f.GoName)
	}
	return "// unknown " + f.Name
}

// Decode is the Go statement(s) that read op from the decoder d.
func (op Op) Decode() string {
	if op.Bits != nil {
		var b strings.Builder
		live := false
		for _, f := range op.Bits {
			live = live || !f.Reserved
		}
		if !live {
			return "d.octet()"
		}
		b.WriteString("bits := d.octet()\n")
		for i, f := range op.Bits {
			if !f.Reserved {
				fmt.Fprintf(&b, "m.%s = bits&(1<<%d) != 0\n", f.GoName, i)
			}
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	f := op.Field
	if f.Reserved {
		switch f.Type {
		case "shortstr":
			return fmt.Sprintf("d.skipShortstr() // %s", f.Name)
		case "longstr", "table":
			return fmt.Sprintf("d.skipLongstr() // %s", f.Name)
		}
		return fmt.Sprintf("d.%s() // %s", f.Type, f.Name)
	}
	switch f.Type {
	case "octet", "short", "long", "longlong":
		return fmt.Sprintf("m.%s = d.%s()", f.GoName, f.Type)
	case "timestamp":
		return fmt.Sprintf("m.%s = d.longlong()", f.GoName)
	case "shortstr", "longstr", "table":
		return fmt.Sprintf("d.%s(&m.%s)", f.Type, f.GoName)
	}
	return "// unknown " + f.Name
}

// Live reports whether the method has at least one non-reserved field.
func (m *Method) Live() bool {
	for _, f := range m.Fields {
		if !f.Reserved {
			return true
		}
	}
	return false
}

// PropertyFlag is the Go name of the flag constant of a class property.
func (f Field) PropertyFlag() string {
	if f.Name == "reserved" {
		return "FlagClusterID"
	}
	return "Flag" + f.GoName
}

// SpecModule is the module whose spec/ folder holds the XML.
const SpecModule = "github.com/rabbitmq/amqp091-go"

// SpecPath finds amqp0-9-1.stripped.extended.xml in the module cache with
// `go list -m`, so the go command must be on PATH.
func SpecPath() (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", SpecModule)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("specgen: go list -m %s: %w: %s", SpecModule, err, stderr.String())
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("%w: module %s is not in the module cache (run go mod download)", ErrSpec, SpecModule)
	}
	return filepath.Join(dir, "spec", "amqp0-9-1.stripped.extended.xml"), nil
}
