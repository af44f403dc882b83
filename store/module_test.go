package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

func TestModule(t *testing.T) {
	dir := t.TempDir()
	var s store.Store
	app := fx.New(
		fx.NopLogger,
		store.Module,
		fx.Supply(store.Options{Dir: dir, CompileFilter: storetest.Compile}),
		fx.Populate(&s),
	)
	require.NoError(t, app.Start(context.Background()))
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	_, err = ns.Append(storetest.Msg(1, 1, "k", "x"))
	require.NoError(t, err)
	require.NoError(t, app.Stop(context.Background()))
	_, err = ns.Append(storetest.Msg(1, 1, "k", "x"))
	require.ErrorIs(t, err, store.ErrClosed, "OnStop closes the store")
}
