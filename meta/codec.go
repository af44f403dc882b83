package meta

import "encoding/json"

// JSON forms of the objects that carry argument tables: the same fields, with
// the tables written as Args so their AMQP types survive bbolt and the HTTP
// change feed. The *Fields types have no methods, so embedding them does not
// recurse.

type (
	exchangeFields Exchange
	queueFields    Queue
	bindingFields  Binding
	policyFields   Policy
)

// MarshalJSON keeps argument types (see Args).
func (x Exchange) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		exchangeFields
		Arguments Args
	}{exchangeFields(x), x.Arguments})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (x *Exchange) UnmarshalJSON(b []byte) error {
	var v struct {
		exchangeFields
		Arguments Args
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*x = Exchange(v.exchangeFields)
	x.Arguments = v.Arguments
	return nil
}

// MarshalJSON keeps argument types (see Args).
func (q Queue) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		queueFields
		Arguments Args
	}{queueFields(q), q.Arguments})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (q *Queue) UnmarshalJSON(b []byte) error {
	var v struct {
		queueFields
		Arguments Args
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*q = Queue(v.queueFields)
	q.Arguments = v.Arguments
	return nil
}

// MarshalJSON keeps argument types (see Args).
func (bd Binding) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		bindingFields
		Arguments Args
	}{bindingFields(bd), bd.Arguments})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (bd *Binding) UnmarshalJSON(b []byte) error {
	var v struct {
		bindingFields
		Arguments Args
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*bd = Binding(v.bindingFields)
	bd.Arguments = v.Arguments
	return nil
}

// MarshalJSON keeps definition value types (see Args).
func (p Policy) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		policyFields
		Definition Args
	}{policyFields(p), p.Definition})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Policy) UnmarshalJSON(b []byte) error {
	var v struct {
		policyFields
		Definition Args
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Policy(v.policyFields)
	p.Definition = v.Definition
	return nil
}
