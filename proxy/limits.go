package proxy

// StoreRecordAllowance is what a store record needs beyond the message
// body: the record header, the exchange and routing key (255 bytes each at
// most), the encoded properties (one content-header frame, so below the
// frame max, plus headers the broker adds such as x-death). The store's
// record limit (store.Options.MaxMessageSize) must be at least
// Config.MaxMessageSize + StoreRecordAllowance, or a body the proxy
// accepts may be refused by the store (541 and the connection closed).
const StoreRecordAllowance = 1 << 20
