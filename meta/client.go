package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// Feed is the read side of Service that a proxy follows: *DB in process,
// *Client across processes.
type Feed interface {
	Revision() uint64
	Snapshot(ctx context.Context) (*Snapshot, error)
	Changes(ctx context.Context, since uint64) ([]Change, error)
	Authenticate(ctx context.Context, user, password string) (*User, error)
}

var (
	_ Feed = (*DB)(nil)
	_ Feed = (*Client)(nil)
)

// Client is Service over a remote MQ-Meta's admin API, for proxies in
// other processes. It follows the feed endpoints:
// GET /api/warren/snapshot and the long-poll GET
// /api/warren/changes?since=R&wait=D (410 Gone when R is compacted). It
// authenticates as an administrator.
type Client struct {
	base           string
	user, password string
	http           *http.Client
	wait           time.Duration
	seenRev        atomic.Uint64 // highest revision seen
}

// NewClient returns a client of the admin API at baseURL
// ("http://meta:15672"). hc may be nil.
func NewClient(baseURL, user, password string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: baseURL, user: user, password: password, http: hc, wait: 25 * time.Second}
}

// Revision is the highest revision this client has seen.
func (c *Client) Revision() uint64 { return c.seenRev.Load() }

func (c *Client) seen(rev uint64) {
	for {
		cur := c.seenRev.Load()
		if rev <= cur || c.seenRev.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// get fetches path into v as user/password; it returns the HTTP status.
func (c *Client) get(ctx context.Context, path, user, password string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, fmt.Errorf("meta: client: %w", err)
	}
	req.SetBasicAuth(user, password)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("meta: client: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("meta: client: read %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("meta: client: GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return resp.StatusCode, fmt.Errorf("meta: client: decode %s: %w", path, err)
	}
	return resp.StatusCode, nil
}

// Snapshot fetches the whole state.
func (c *Client) Snapshot(ctx context.Context) (*Snapshot, error) {
	var s Snapshot
	if _, err := c.get(ctx, "/api/warren/snapshot", c.user, c.password, &s); err != nil {
		return nil, err
	}
	c.seen(s.Revision)
	return &s, nil
}

// Changes long-polls for the changes after since until there is at least
// one or ctx ends; ErrCompacted when since is too old.
func (c *Client) Changes(ctx context.Context, since uint64) ([]Change, error) {
	q := url.Values{"since": {strconv.FormatUint(since, 10)}, "wait": {c.wait.String()}}
	for {
		var chs []Change
		status, err := c.get(ctx, "/api/warren/changes?"+q.Encode(), c.user, c.password, &chs)
		switch {
		case status == http.StatusGone:
			return nil, ErrCompacted
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			return nil, err
		case len(chs) > 0:
			c.seen(chs[len(chs)-1].Revision)
			return chs, nil
		}
	}
}

// Authenticate checks credentials through the remote API (POST
// /api/warren/authenticate, as the client's administrator).
func (c *Client) Authenticate(ctx context.Context, user, password string) (*User, error) {
	body, err := json.Marshal(map[string]string{"username": user, "password": password})
	if err != nil {
		return nil, fmt.Errorf("meta: client: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/warren/authenticate", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("meta: client: %w", err)
	}
	req.SetBasicAuth(c.user, c.password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("meta: client: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var u User
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&u); err != nil {
			return nil, fmt.Errorf("meta: client: decode user: %w", err)
		}
		return &u, nil
	case http.StatusForbidden:
		return nil, &Error{Code: CodeAccessRefused, Text: loginRefused}
	}
	return nil, fmt.Errorf("meta: client: authenticate: %s", resp.Status)
}
