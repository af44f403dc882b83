package proxy

import (
	"maps"
	"math"
	"regexp"

	"github.com/warren-mq/warren/meta"
)

// Policies from meta apply their queue keys to the queues whose names
// match, as RabbitMQ 3.10 does: the matching policy (apply-to queues or
// all) of highest priority wins; for message-ttl, max-length,
// max-length-bytes and expires the lower of the policy's value and the
// queue argument applies, for dead-letter-exchange,
// dead-letter-routing-key and overflow the queue argument does. A policy
// change makes every queue of its vhost recompute its group config, so it
// applies to live queues.

// policyState is a policy with its compiled pattern (nil: invalid, never
// matches).
type policyState struct {
	p  meta.Policy
	re *regexp.Regexp
}

// applyPolicyLocked applies a policy change and marks the vhost's queues.
func (t *topology) applyPolicyLocked(ch *meta.Change, dirty map[*queueState]*vhostState) {
	vs := t.mu.vhosts[ch.Policy.Vhost]
	if vs == nil {
		return
	}
	if ch.Deleted {
		delete(vs.policies, ch.Policy.Name)
	} else {
		t.putPolicyLocked(*ch.Policy)
	}
	for _, qs := range vs.queues {
		dirty[qs] = vs
	}
}

func (t *topology) putPolicyLocked(p meta.Policy) {
	vs := t.mu.vhosts[p.Vhost]
	if vs == nil {
		return
	}
	if vs.policies == nil {
		vs.policies = map[string]*policyState{}
	}
	re, err := regexp.Compile(p.Pattern)
	if err != nil {
		t.log.Warn("proxy: policy pattern", "vhost", p.Vhost, "policy", p.Name, "err", err)
		re = nil
	}
	vs.policies[p.Name] = &policyState{p: p, re: re}
}

// policyFor returns the policy that applies to queue name, or nil.
func (vs *vhostState) policyFor(name string) *meta.Policy {
	var best *meta.Policy
	for _, ps := range vs.policies {
		if ps.re == nil || (ps.p.ApplyTo != "queues" && ps.p.ApplyTo != "all" && ps.p.ApplyTo != "") {
			continue
		}
		if !ps.re.MatchString(name) {
			continue
		}
		if best == nil || ps.p.Priority > best.Priority || (ps.p.Priority == best.Priority && ps.p.Name < best.Name) {
			best = &ps.p
		}
	}
	return best
}

// effectiveArgsLocked is the queue's arguments with its policy applied.
func (t *topology) effectiveArgsLocked(vs *vhostState, q meta.Queue) map[string]any {
	p := vs.policyFor(q.Name)
	if p == nil {
		return q.Arguments
	}
	out := maps.Clone(q.Arguments)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range p.Definition {
		arg := "x-" + k
		switch k {
		case "message-ttl", "max-length", "max-length-bytes", "expires":
			pv, ok := policyInt(v)
			if !ok {
				continue
			}
			if qv, ok := intArg(out[arg]); ok {
				pv = min(pv, qv)
			}
			out[arg] = pv
		case "dead-letter-exchange", "dead-letter-routing-key", "overflow":
			if _, ok := out[arg]; !ok {
				out[arg] = v
			}
		}
	}
	return out
}

// policyInt reads an integer policy value (JSON numbers may arrive as
// float64).
func policyInt(v any) (int64, bool) {
	if f, ok := v.(float64); ok {
		if f != math.Trunc(f) || f < 0 {
			return 0, false
		}
		return int64(f), true
	}
	return intArg(v)
}

// queueArgs returns the effective arguments of queue name of vhost and its
// id.
func (t *topology) queueArgs(vhost, name string) (uint64, map[string]any, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	vs := t.mu.vhosts[vhost]
	if vs == nil {
		return 0, nil, false
	}
	qs := vs.queues[name]
	if qs == nil {
		return 0, nil, false
	}
	return qs.q.ID, t.effectiveArgsLocked(vs, qs.q), true
}
