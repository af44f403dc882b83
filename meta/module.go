package meta

import (
	"context"

	"go.uber.org/fx"
)

// Module provides *DB, also as Service, opened from an Options value that
// cmd supplies, and closes it on stop.
var Module = fx.Module("meta",
	fx.Provide(fx.Annotate(openWithLifecycle, fx.As(fx.Self()), fx.As(new(Service)))),
)

func openWithLifecycle(lc fx.Lifecycle, opts Options) (*DB, error) {
	db, err := Open(opts)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.Hook{OnStop: func(context.Context) error { return db.Close() }})
	return db, nil
}
