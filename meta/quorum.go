package meta

// quorumJSON makes a quorum queue's admin API object look like RabbitMQ
// 3.10's on one node: leader, members and online name this node, the
// dead-letter counters of at-least-once dead-lettering are zero (Warren
// dead-letters at most once), and the classic-only fields are gone.
func quorumJSON(q *Queue, out map[string]any) {
	if queueType(q) != "quorum" {
		return
	}
	node := nodeName()
	out["leader"] = node
	out["members"] = []string{node}
	out["online"] = []string{node}
	out["open_files"] = map[string]any{node: 0}
	out["messages_dlx"] = 0
	out["message_bytes_dlx"] = 0
	out["single_active_consumer_ctag"] = nil
	for _, k := range []string{"exclusive_consumer_tag", "single_active_consumer_tag", "head_message_timestamp",
		"recoverable_slaves", "message_bytes_paged_out", "messages_paged_out", "messages_ready_ram",
		"messages_unacknowledged_ram", "backing_queue_status", "idle_since"} {
		delete(out, k)
	}
}
