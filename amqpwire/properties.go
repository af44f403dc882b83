package amqpwire

import (
	"encoding/binary"
	"fmt"
	"time"
)

// ContentHeader is a decoded content header frame payload.
type ContentHeader struct {
	ClassID  uint16
	BodySize uint64
	// Properties is the property flags and values exactly as on the wire;
	// it aliases the payload.
	Properties []byte
}

// contentHeaderFixed is class-id, weight and body-size.
const contentHeaderFixed = 12

// DecodeContentHeader decodes a content header frame payload and validates
// its whole property block, headers table included, without allocating.
func DecodeContentHeader(payload []byte) (ContentHeader, error) {
	if len(payload) < contentHeaderFixed+2 {
		return ContentHeader{}, errorf(FrameError, "content header of %d bytes is too short", len(payload))
	}
	h := ContentHeader{
		ClassID:    binary.BigEndian.Uint16(payload),
		BodySize:   binary.BigEndian.Uint64(payload[4:]),
		Properties: payload[contentHeaderFixed:],
	}
	if _, err := viewProperties(h.Properties, true); err != nil {
		return ContentHeader{}, err
	}
	return h, nil
}

// PropertyView reads the basic properties without allocating: byte slices
// alias the raw block and are nil when the property is absent (see Flags).
type PropertyView struct {
	Flags           uint16
	ContentType     []byte
	ContentEncoding []byte
	Headers         []byte // the raw table without its length prefix
	DeliveryMode    uint8
	Priority        uint8
	CorrelationID   []byte
	ReplyTo         []byte
	Expiration      []byte
	MessageID       []byte
	Timestamp       uint64 // seconds since the epoch
	Type            []byte
	UserID          []byte
	AppID           []byte
	ClusterID       []byte
}

// ViewProperties parses a property block (flags and values) without
// allocating. It checks every length but not the contents of the headers
// table: DecodeContentHeader does that.
func ViewProperties(raw []byte) (PropertyView, error) {
	return viewProperties(raw, false)
}

// flagContinued (bit 0) announces another flags word; the basic class has
// 14 properties, so it is an error, as in RabbitMQ (which fails with 541).
// Bit 1 is unused and ignored, as RabbitMQ ignores it.
const flagContinued = 0x0001

func viewProperties(raw []byte, validate bool) (PropertyView, error) {
	d := decoder{b: raw}
	v := PropertyView{Flags: d.short()}
	if d.err == nil && v.Flags&flagContinued != 0 {
		return PropertyView{}, errorf(SyntaxError, "continued property flags 0x%04x", v.Flags)
	}
	f := v.Flags
	str := func(flag uint16) []byte {
		if f&flag == 0 {
			return nil
		}
		return d.shortstrBytes()
	}
	v.ContentType = str(FlagContentType)
	v.ContentEncoding = str(FlagContentEncoding)
	if f&FlagHeaders != 0 {
		v.Headers = d.longstrBytes()
		if validate && d.err == nil {
			if err := ValidateTable(v.Headers); err != nil {
				return PropertyView{}, err
			}
		}
	}
	if f&FlagDeliveryMode != 0 {
		v.DeliveryMode = d.octet()
	}
	if f&FlagPriority != 0 {
		v.Priority = d.octet()
	}
	v.CorrelationID = str(FlagCorrelationID)
	v.ReplyTo = str(FlagReplyTo)
	v.Expiration = str(FlagExpiration)
	v.MessageID = str(FlagMessageID)
	if f&FlagTimestamp != 0 {
		v.Timestamp = d.longlong()
	}
	v.Type = str(FlagType)
	v.UserID = str(FlagUserID)
	v.AppID = str(FlagAppID)
	v.ClusterID = str(FlagClusterID)
	if d.err != nil {
		return PropertyView{}, errorf(FrameError, "content header properties end early")
	}
	if len(d.b) != 0 {
		return PropertyView{}, errorf(FrameError, "%d trailing bytes after content header properties", len(d.b))
	}
	return v, nil
}

// Properties is the decoded, allocating form of the basic properties, for
// clients and tests. Zero fields are absent on the wire.
type Properties struct {
	ContentType     string
	ContentEncoding string
	Headers         Table
	DeliveryMode    uint8
	Priority        uint8
	CorrelationID   string
	ReplyTo         string
	Expiration      string
	MessageID       string
	Timestamp       time.Time // whole seconds on the wire
	Type            string
	UserID          string
	AppID           string
	ClusterID       string
}

// DecodeProperties decodes a property block (flags and values).
func DecodeProperties(raw []byte) (Properties, error) {
	v, err := viewProperties(raw, false)
	if err != nil {
		return Properties{}, err
	}
	p := Properties{
		ContentType:     string(v.ContentType),
		ContentEncoding: string(v.ContentEncoding),
		DeliveryMode:    v.DeliveryMode,
		Priority:        v.Priority,
		CorrelationID:   string(v.CorrelationID),
		ReplyTo:         string(v.ReplyTo),
		Expiration:      string(v.Expiration),
		MessageID:       string(v.MessageID),
		Type:            string(v.Type),
		UserID:          string(v.UserID),
		AppID:           string(v.AppID),
		ClusterID:       string(v.ClusterID),
	}
	if v.Flags&FlagHeaders != 0 {
		if p.Headers, err = DecodeTable(v.Headers); err != nil {
			return Properties{}, err
		}
	}
	if v.Flags&FlagTimestamp != 0 {
		p.Timestamp = time.Unix(int64(v.Timestamp), 0).UTC()
	}
	return p, nil
}

// Append appends the property flags and the values of the non-zero
// properties (Headers: non-nil). It fails on a string over 255 bytes or a
// headers table AppendTable rejects.
func (p *Properties) Append(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0)
	var flags uint16
	var err error
	str := func(flag uint16, s string) {
		if s == "" || err != nil {
			return
		}
		if len(s) > 255 {
			err = fmt.Errorf("%w: property of %d bytes is longer than a shortstr", ErrEncode, len(s))
			return
		}
		flags |= flag
		dst = appendShortstr(dst, s)
	}
	str(FlagContentType, p.ContentType)
	str(FlagContentEncoding, p.ContentEncoding)
	if p.Headers != nil && err == nil {
		flags |= FlagHeaders
		dst, err = AppendTable(dst, p.Headers)
	}
	if p.DeliveryMode != 0 {
		flags |= FlagDeliveryMode
		dst = append(dst, p.DeliveryMode)
	}
	if p.Priority != 0 {
		flags |= FlagPriority
		dst = append(dst, p.Priority)
	}
	str(FlagCorrelationID, p.CorrelationID)
	str(FlagReplyTo, p.ReplyTo)
	str(FlagExpiration, p.Expiration)
	str(FlagMessageID, p.MessageID)
	if !p.Timestamp.IsZero() {
		flags |= FlagTimestamp
		dst = binary.BigEndian.AppendUint64(dst, uint64(p.Timestamp.Unix()))
	}
	str(FlagType, p.Type)
	str(FlagUserID, p.UserID)
	str(FlagAppID, p.AppID)
	str(FlagClusterID, p.ClusterID)
	if err != nil {
		return dst[:start], err
	}
	binary.BigEndian.PutUint16(dst[start:], flags)
	return dst, nil
}
