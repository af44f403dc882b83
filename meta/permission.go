package meta

import "regexp"

// Access is one of the three permission kinds.
type Access int

const (
	AccessConfigure Access = iota
	AccessWrite
	AccessRead
)

// Permits reports whether p grants access to the resource called name, as
// RabbitMQ decides it: an unanchored regular-expression match, with ""
// read as "^$" (so it still allows the default exchange). The admin API
// uses it; AMQP paths that check on every publish should compile once with
// CompilePermission.
func Permits(p *Permission, access Access, name string) bool {
	if p == nil {
		return false
	}
	c, err := CompilePermission(*p)
	return err == nil && c.Allows(access, name)
}

// CompiledPermission is a Permission with its patterns compiled.
type CompiledPermission struct {
	Permission
	res [3]*regexp.Regexp
}

// CompilePermission compiles p's three patterns.
func CompilePermission(p Permission) (*CompiledPermission, error) {
	c := &CompiledPermission{Permission: p}
	for i, pattern := range [...]string{p.Configure, p.Write, p.Read} {
		if pattern == "" {
			pattern = "^$"
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - invalid regular expression '%s'", pattern)
		}
		c.res[i] = re
	}
	return c, nil
}

// Allows reports whether c grants access to name.
func (c *CompiledPermission) Allows(access Access, name string) bool {
	if c == nil || access < AccessConfigure || access > AccessRead {
		return false
	}
	return c.res[access].MatchString(name)
}

// MatchPolicy returns the policy in effect for an object of vhost called
// name, as RabbitMQ picks it: among the policies whose pattern matches and
// whose apply-to covers the object, the one with the highest priority.
// queueType is "classic", "quorum" or "stream" for a queue and "" for an
// exchange.
func MatchPolicy(policies []Policy, vhost, name, queueType string) *Policy {
	var best *Policy
	for i := range policies {
		p := &policies[i]
		if p.Vhost != vhost || !appliesTo(p.ApplyTo, queueType) {
			continue
		}
		if re, err := regexp.Compile(p.Pattern); err != nil || !re.MatchString(name) {
			continue
		}
		if best == nil || p.Priority > best.Priority {
			best = p
		}
	}
	return best
}

func appliesTo(applyTo, queueType string) bool {
	switch applyTo {
	case "all", "":
		return true
	case "exchanges":
		return queueType == ""
	case "queues":
		return queueType != ""
	case "classic_queues":
		return queueType == "classic"
	case "quorum_queues":
		return queueType == "quorum"
	case "streams":
		return queueType == "stream"
	}
	return false
}
