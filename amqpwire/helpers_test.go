package amqpwire

import (
	"fmt"
	"reflect"
	"time"
)

// allTypesTable holds one value of every field-table type RabbitMQ uses,
// with the Go types DecodeTable returns.
func allTypesTable() Table {
	return Table{
		"t": true,
		"b": int8(-5),
		"B": uint8(250),
		"s": int16(-300),
		"u": uint16(60000),
		"I": int32(-70000),
		"i": uint32(4000000000),
		"l": int64(-1 << 40),
		"f": float32(1.5),
		"d": float64(-2.25),
		"D": Decimal{Scale: 2, Value: -12345},
		"S": "a long string ✓",
		"A": []any{int32(1), "two", Table{"three": true}, nil, []any{}},
		"T": time.Unix(1700000000, 0).UTC(),
		"F": Table{"nested": Table{"deep": int64(1)}, "empty": Table{}},
		"V": nil,
		"x": []byte{0, 1, 2, 0xff},
	}
}

// fillMethod sets every field of the method struct to a non-zero value that
// differs from field to field. Reflection is fine in tests.
func fillMethod(m Method) {
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Uint8:
			f.SetUint(uint64(0xf0 + i))
		case reflect.Uint16:
			f.SetUint(uint64(0xbe00 + i))
		case reflect.Uint32:
			f.SetUint(uint64(0xdead0000 + i))
		case reflect.Uint64:
			f.SetUint(0x0123456789ab0000 + uint64(i))
		case reflect.String:
			f.SetString(fmt.Sprintf("%s/%s", m.Name(), name))
		case reflect.Map:
			f.Set(reflect.ValueOf(allTypesTable()))
		default:
			panic("fillMethod: unexpected field kind " + f.Kind().String())
		}
	}
}

// boolFields lists the indexes of the bool fields of a method struct.
func boolFields(m Method) []int {
	v := reflect.ValueOf(m).Elem()
	var out []int
	for i := range v.NumField() {
		if v.Field(i).Kind() == reflect.Bool {
			out = append(out, i)
		}
	}
	return out
}

// zeroOf returns a new zero struct of the same method.
func zeroOf(m Method) Method {
	return reflect.New(reflect.TypeOf(m).Elem()).Interface().(Method)
}
