package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

var _ Service = (*Client)(nil)

// call runs a Service write on the remote meta (see rpc.go).
func (c *Client) call(ctx context.Context, method string, in rpcRequest) (rpcResponse, error) {
	var out rpcResponse
	body, err := json.Marshal(in)
	if err != nil {
		return out, fmt.Errorf("meta: client: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/warren/rpc/"+method, bytes.NewReader(body))
	if err != nil {
		return out, fmt.Errorf("meta: client: %w", err)
	}
	req.SetBasicAuth(c.user, c.password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return out, fmt.Errorf("meta: client: %s: %w", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return out, fmt.Errorf("meta: client: %s: %w", method, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.Unmarshal(b, &out); err != nil {
			return out, fmt.Errorf("meta: client: %s: decode: %w", method, err)
		}
		c.seen(out.Revision)
		return out, nil
	case http.StatusUnprocessableEntity:
		var e rpcError
		if err := json.Unmarshal(b, &e); err != nil {
			return out, fmt.Errorf("meta: client: %s: decode error: %w", method, err)
		}
		return out, &Error{Code: e.Code, Text: e.Text}
	}
	return out, fmt.Errorf("meta: client: %s: %s: %s", method, resp.Status, b)
}

// The writes below are Service's, run by the remote meta; *Error values
// come back with their code and text.

func (c *Client) rev(ctx context.Context, method string, in rpcRequest) (uint64, error) {
	out, err := c.call(ctx, method, in)
	return out.Revision, err
}

func (c *Client) PutVhost(ctx context.Context, v Vhost) (uint64, error) {
	return c.rev(ctx, "PutVhost", rpcRequest{Vhost: &v})
}

func (c *Client) DeleteVhost(ctx context.Context, name string) (uint64, error) {
	return c.rev(ctx, "DeleteVhost", rpcRequest{VhostName: name})
}

func (c *Client) PutUser(ctx context.Context, u User) (uint64, error) {
	return c.rev(ctx, "PutUser", rpcRequest{User: &u})
}

func (c *Client) DeleteUser(ctx context.Context, name string) (uint64, error) {
	return c.rev(ctx, "DeleteUser", rpcRequest{Name: name})
}

func (c *Client) PutPermission(ctx context.Context, p Permission) (uint64, error) {
	return c.rev(ctx, "PutPermission", rpcRequest{Permission: &p})
}

func (c *Client) DeletePermission(ctx context.Context, user, vhost string) (uint64, error) {
	return c.rev(ctx, "DeletePermission", rpcRequest{UserName: user, VhostName: vhost})
}

func (c *Client) PutPolicy(ctx context.Context, p Policy) (uint64, error) {
	return c.rev(ctx, "PutPolicy", rpcRequest{Policy: &p})
}

func (c *Client) DeletePolicy(ctx context.Context, vhost, name string) (uint64, error) {
	return c.rev(ctx, "DeletePolicy", rpcRequest{VhostName: vhost, Name: name})
}

func (c *Client) DeclareExchange(ctx context.Context, x Exchange, passive bool) (Exchange, DeclareResult, error) {
	out, err := c.call(ctx, "DeclareExchange", rpcRequest{Exchange: &x, Passive: passive})
	if err != nil || out.Exchange == nil {
		return Exchange{}, DeclareResult{}, err
	}
	return *out.Exchange, DeclareResult{Revision: out.Revision, Created: out.Created}, nil
}

func (c *Client) DeleteExchange(ctx context.Context, vhost, name string, ifUnused bool) (uint64, error) {
	return c.rev(ctx, "DeleteExchange", rpcRequest{VhostName: vhost, Name: name, IfUnused: ifUnused})
}

func (c *Client) DeclareQueue(ctx context.Context, q Queue, passive bool) (Queue, DeclareResult, error) {
	out, err := c.call(ctx, "DeclareQueue", rpcRequest{Queue: &q, Passive: passive})
	if err != nil || out.Queue == nil {
		return Queue{}, DeclareResult{}, err
	}
	return *out.Queue, DeclareResult{Revision: out.Revision, Created: out.Created}, nil
}

func (c *Client) DeleteQueue(ctx context.Context, vhost, name string) (uint64, error) {
	return c.rev(ctx, "DeleteQueue", rpcRequest{VhostName: vhost, Name: name})
}

func (c *Client) DeleteOwnedQueues(ctx context.Context, owner string) (uint64, error) {
	return c.rev(ctx, "DeleteOwnedQueues", rpcRequest{Owner: owner})
}

func (c *Client) Bind(ctx context.Context, b Binding) (uint64, error) {
	return c.rev(ctx, "Bind", rpcRequest{Binding: &b})
}

func (c *Client) Unbind(ctx context.Context, b Binding) (uint64, error) {
	return c.rev(ctx, "Unbind", rpcRequest{Binding: &b})
}
