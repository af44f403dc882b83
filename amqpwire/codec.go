package amqpwire

import "encoding/binary"

// decoder reads method arguments front to back. The first problem sticks in
// err; later reads return zero values, so generated code checks once, in
// finish.
type decoder struct {
	b   []byte
	err *Error
}

func (d *decoder) short() uint16 {
	if len(d.b) < 2 {
		d.truncated()
		return 0
	}
	v := binary.BigEndian.Uint16(d.b)
	d.b = d.b[2:]
	return v
}

func (d *decoder) octet() uint8 {
	if len(d.b) < 1 {
		d.truncated()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) long() uint32 {
	if len(d.b) < 4 {
		d.truncated()
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) longlong() uint64 {
	if len(d.b) < 8 {
		d.truncated()
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// bytes returns the next n bytes, or nil when fewer remain.
func (d *decoder) bytes(n int) []byte {
	if n > len(d.b) {
		d.truncated()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) shortstrBytes() []byte {
	if len(d.b) < 1 {
		d.truncated()
		return nil
	}
	n := int(d.b[0])
	d.b = d.b[1:]
	return d.bytes(n)
}

func (d *decoder) longstrBytes() []byte {
	n := d.long()
	if uint64(n) > uint64(len(d.b)) {
		d.truncated()
		return nil
	}
	return d.bytes(int(n))
}

// shortstr sets *s, keeping the old string when it is equal so decoding into
// a reused struct does not allocate.
func (d *decoder) shortstr(s *string) {
	if b := d.shortstrBytes(); *s != string(b) {
		*s = string(b)
	}
}

func (d *decoder) longstr(s *string) {
	if b := d.longstrBytes(); *s != string(b) {
		*s = string(b)
	}
}

func (d *decoder) skipShortstr() { d.shortstrBytes() }
func (d *decoder) skipLongstr()  { d.longstrBytes() }

func (d *decoder) table(t *Table) {
	b := d.longstrBytes()
	if d.err != nil {
		return
	}
	if len(b) == 0 {
		*t = nil // no allocation for the common empty table
		return
	}
	sub := decoder{b: b}
	v := tableBody(&sub, 0, true)
	if sub.err != nil {
		d.err = sub.err
		return
	}
	*t = v
}

// truncated records that a length points past the end of the data. Every
// error is a new value, so callers may keep or change it.
func (d *decoder) truncated() {
	if d.err == nil {
		d.err = &Error{Code: FrameError, Text: "FRAME_ERROR - data ends before its announced length"}
	}
	d.b = nil
}

// finish reports the first error, or trailing bytes, naming the method.
func (d *decoder) finish(classID, methodID uint16) error {
	e := d.err
	if e == nil && len(d.b) != 0 {
		e = &Error{Code: FrameError, Text: "FRAME_ERROR - trailing bytes after method arguments"}
	}
	if e == nil {
		return nil
	}
	e.ClassID, e.MethodID = classID, methodID
	if m := newMethod(classID, methodID); m != nil {
		e.Text += " (" + m.Name() + ")"
	}
	return e
}

// appendShortstr appends s as a short string. Strings longer than 255 bytes
// cannot be a shortstr; they are cut at 255 bytes (callers validate names
// before they get here, as RabbitMQ does).
func appendShortstr(dst []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	dst = append(dst, byte(len(s)))
	return append(dst, s...)
}

func appendLongstr(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// appendTableArg appends a method's table argument. Values of a type the
// wire cannot carry are written as void ('V'); check with Table.Validate
// before sending a table you did not decode.
func appendTableArg(dst []byte, t Table) []byte {
	e := tableEncoder{lenient: true}
	dst, _ = e.appendTable(dst, t, 0)
	return dst
}
