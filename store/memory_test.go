package store_test

import (
	"testing"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, storetest.Factory{Open: func(*testing.T) store.Store { return store.NewMemory() }})
}
