// Package migrations embeds the SQL migrations.
//
// Each dialect has its own directory of goose files (postgres/, sqlite/), numbered alike;
// internal/store applies the one matching the database it opened.
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
