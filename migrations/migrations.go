// Package migrations embeds the crawler's numbered SQL migrations. They are
// applied by pkg/store (crawler migrate, and before run and schedule), each
// in its own transaction, under a PostgreSQL advisory lock.
package migrations

import "embed"

// FS holds the migration files, named NNNNN_description.sql in goose format.
//
//go:embed *.sql
var FS embed.FS
