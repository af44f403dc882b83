package amqpwire

import (
	"fmt"
	"strconv"
	"strings"
)

// frameError builds the error of a frame that cannot be read, worded as
// RabbitMQ 3.10 words it: the frame type, its payload (the first 16 octets
// at most) as an Erlang binary, and the reason as an Erlang term:
//
//	FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,0}
//	FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,5000,4088}
func frameError(typ uint8, payload []byte, reason string) *Error {
	which := "all"
	if len(payload) > 16 {
		which, payload = "first 16", payload[:16]
	}
	prefix := fmt.Sprintf("type %d, %s octets = ", typ, which)
	return errorf(FrameError, "%s%s: %s", prefix, erlangBinary(payload, len(prefix)), reason)
}

// Erlang's pretty printer (io_lib_pretty, ~p) lays a binary out within 80
// columns: a binary that does not fit after column col is broken after a
// comma and continued two columns right of its start. The limits below are
// RabbitMQ 3.10's, measured.
const (
	erlWholeLimit = 81 // the whole binary, or its last line, ends at most here
	erlLineLimit  = 79 // a line broken after a comma ends at most here
)

// erlangBinary prints b as Erlang's ~p prints a binary: <<"text">> when
// every byte is printable Latin-1, <<1,2,3>> otherwise.
func erlangBinary(b []byte, col int) string {
	if len(b) > 0 && printableLatin1(b) {
		return erlangString(b)
	}
	elems := make([]string, len(b))
	for i, x := range b {
		elems[i] = strconv.Itoa(int(x))
	}
	whole := "<<" + strings.Join(elems, ",") + ">>"
	if col+len(whole) <= erlWholeLimit {
		return whole
	}
	var sb strings.Builder
	sb.WriteString("<<")
	at, indent := col+2, col+2
	for i, e := range elems {
		last := i == len(elems)-1
		tail, limit := ",", erlLineLimit
		if last {
			tail, limit = ">>", erlWholeLimit
		}
		if at > indent && at+len(e)+len(tail) > limit {
			sb.WriteString("\n")
			sb.WriteString(strings.Repeat(" ", indent))
			at = indent
		}
		sb.WriteString(e)
		sb.WriteString(tail)
		at += len(e) + len(tail)
	}
	return sb.String()
}

// printableLatin1 is Erlang's io_lib:printable_latin1_list on bytes.
func printableLatin1(b []byte) bool {
	for _, x := range b {
		switch {
		case x >= 32 && x <= 126, x >= 160:
		case x >= 8 && x <= 13, x == 27:
		default:
			return false
		}
	}
	return true
}

// erlangString prints printable bytes as an Erlang binary string, with
// Erlang's escapes; other bytes (Latin-1 letters) are written as they are.
func erlangString(b []byte) string {
	var sb strings.Builder
	sb.WriteString(`<<"`)
	for _, x := range b {
		switch x {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\v':
			sb.WriteString(`\v`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		case 27:
			sb.WriteString(`\e`)
		default:
			sb.WriteByte(x)
		}
	}
	sb.WriteString(`">>`)
	return sb.String()
}
