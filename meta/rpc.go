package meta

import (
	"context"
	"errors"
	"net/http"
)

// The write side of Service over HTTP, for proxies in other processes:
//
//	POST /api/warren/rpc/{method}   body rpcRequest, as an administrator
//	200 rpcResponse                 the write's revision (and object)
//	422 {"Code": 406, "Text": "PRECONDITION_FAILED - …"}   a meta *Error
//
// method is the Service method name (DeclareQueue, Bind, …). Objects travel
// in their JSON form (argument types kept, see Args).

type rpcRequest struct {
	Vhost      *Vhost      `json:",omitempty"`
	User       *User       `json:",omitempty"`
	Permission *Permission `json:",omitempty"`
	Policy     *Policy     `json:",omitempty"`
	Exchange   *Exchange   `json:",omitempty"`
	Queue      *Queue      `json:",omitempty"`
	Binding    *Binding    `json:",omitempty"`
	// TopicPermission is PutTopicPermission's (see topicperm.go).
	TopicPermission *TopicPermission `json:",omitempty"`
	// Names for deletes: VhostName, Name (user, exchange, queue, policy
	// name), UserName (permission), Owner (DeleteOwnedQueues).
	VhostName, Name, UserName, Owner string `json:",omitempty"`
	Passive, IfUnused                bool   `json:",omitempty"`
}

type rpcResponse struct {
	Revision uint64
	Created  bool      `json:",omitempty"`
	Exchange *Exchange `json:",omitempty"`
	Queue    *Queue    `json:",omitempty"`
}

type rpcError struct {
	Code int
	Text string
}

var errRPCArgs = errors.New("meta: rpc: missing argument")

// rpcCall runs one Service write named method.
func rpcCall(ctx context.Context, svc Service, method string, in *rpcRequest) (rpcResponse, error) {
	var out rpcResponse
	var err error
	need := func(ok bool) bool {
		if !ok {
			err = errRPCArgs
		}
		return ok
	}
	switch method {
	case "PutVhost":
		if need(in.Vhost != nil) {
			out.Revision, err = svc.PutVhost(ctx, *in.Vhost)
		}
	case "DeleteVhost":
		out.Revision, err = svc.DeleteVhost(ctx, in.VhostName)
	case "PutUser":
		if need(in.User != nil) {
			out.Revision, err = svc.PutUser(ctx, *in.User)
		}
	case "DeleteUser":
		out.Revision, err = svc.DeleteUser(ctx, in.Name)
	case "PutPermission":
		if need(in.Permission != nil) {
			out.Revision, err = svc.PutPermission(ctx, *in.Permission)
		}
	case "DeletePermission":
		out.Revision, err = svc.DeletePermission(ctx, in.UserName, in.VhostName)
	case "PutPolicy":
		if need(in.Policy != nil) {
			out.Revision, err = svc.PutPolicy(ctx, *in.Policy)
		}
	case "DeletePolicy":
		out.Revision, err = svc.DeletePolicy(ctx, in.VhostName, in.Name)
	default:
		if rev, ok, terr := rpcTopicPermission(ctx, svc, method, in); ok {
			return rpcResponse{Revision: rev}, terr
		}
		return rpcTopology(ctx, svc, method, in)
	}
	return out, err
}

func rpcTopology(ctx context.Context, svc Service, method string, in *rpcRequest) (rpcResponse, error) {
	var out rpcResponse
	var err error
	switch {
	case method == "DeclareExchange" && in.Exchange != nil:
		var x Exchange
		var res DeclareResult
		x, res, err = svc.DeclareExchange(ctx, *in.Exchange, in.Passive)
		out = rpcResponse{Revision: res.Revision, Created: res.Created, Exchange: &x}
	case method == "DeleteExchange":
		out.Revision, err = svc.DeleteExchange(ctx, in.VhostName, in.Name, in.IfUnused)
	case method == "DeclareQueue" && in.Queue != nil:
		var q Queue
		var res DeclareResult
		q, res, err = svc.DeclareQueue(ctx, *in.Queue, in.Passive)
		out = rpcResponse{Revision: res.Revision, Created: res.Created, Queue: &q}
	case method == "DeleteQueue":
		out.Revision, err = svc.DeleteQueue(ctx, in.VhostName, in.Name)
	case method == "DeleteOwnedQueues":
		out.Revision, err = svc.DeleteOwnedQueues(ctx, in.Owner)
	case method == "Bind" && in.Binding != nil:
		out.Revision, err = svc.Bind(ctx, *in.Binding)
	case method == "Unbind" && in.Binding != nil:
		out.Revision, err = svc.Unbind(ctx, *in.Binding)
	default:
		return out, &apiError{http.StatusNotFound, "not_found", "no rpc method " + method + " with these arguments"}
	}
	return out, err
}

func (a *api) rpc(rq *request) error {
	var in rpcRequest
	if err := rq.readBody(&in); err != nil {
		return err
	}
	out, err := rpcCall(rq.r.Context(), a.svc, rq.path("method"), &in)
	var me *Error
	switch {
	case errors.As(err, &me):
		writeJSON(rq.w, http.StatusUnprocessableEntity, rpcError{Code: me.Code, Text: me.Text})
		return nil
	case errors.Is(err, errRPCArgs):
		return errBadRequest(err.Error())
	case err != nil:
		return err
	}
	return rq.ok(out)
}
