package proxy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
)

func TestSenderKeys(t *testing.T) {
	for _, tc := range []struct {
		name     string
		give     amqpwire.Properties
		wantKeys []string
		wantErr  string
		wantHdrs amqpwire.Table // after BCC is stripped
	}{{
		name:     "cc and bcc, non-longstr skipped",
		give:     amqpwire.Properties{ContentType: "text/plain", Headers: amqpwire.Table{"CC": []any{"a", int32(1), "b"}, "BCC": []any{"c", []byte("d")}, "z": "v"}, MessageID: "id"},
		wantKeys: []string{"a", "b", "c"},
		wantHdrs: amqpwire.Table{"CC": []any{"a", int32(1), "b"}, "z": "v"},
	}, {
		name:     "bcc only leaves an empty table",
		give:     amqpwire.Properties{Headers: amqpwire.Table{"BCC": []any{"q"}}, Expiration: "100"},
		wantKeys: []string{"q"},
		wantHdrs: amqpwire.Table{},
	}, {
		name:     "names are case-sensitive",
		give:     amqpwire.Properties{Headers: amqpwire.Table{"cc": "x", "Bcc": []any{"y"}}},
		wantHdrs: amqpwire.Table{"cc": "x", "Bcc": []any{"y"}},
	}, {
		name:    "cc not an array",
		give:    amqpwire.Properties{Headers: amqpwire.Table{"CC": "a"}},
		wantErr: `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}`,
	}, {
		name:    "bcc not an array",
		give:    amqpwire.Properties{Headers: amqpwire.Table{"BCC": int64(7)}},
		wantErr: `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"BCC",long}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := tc.give.Append(nil)
			require.NoError(t, err)
			view, err := amqpwire.ViewProperties(raw)
			require.NoError(t, err)
			sk, perr := readSenderKeys(view.Headers)
			if tc.wantErr != "" {
				require.NotNil(t, perr)
				assert.Equal(t, tc.wantErr, perr.text)
				assert.True(t, hasSenderKeys(view.Headers))
				return
			}
			require.Nil(t, perr)
			var keys []string
			for _, k := range sk.keys {
				keys = append(keys, string(k))
			}
			assert.Equal(t, tc.wantKeys, keys)
			out := stripBCC(raw, &view, &sk)
			got, err := amqpwire.DecodeProperties(out)
			require.NoError(t, err)
			want := tc.give
			want.Headers = tc.wantHdrs
			assert.Equal(t, want, got)
			keys = keys[:0] // the keys alias raw, which the strip left alone
			for _, k := range sk.keys {
				keys = append(keys, string(k))
			}
			assert.Equal(t, tc.wantKeys, keys)
		})
	}
}
