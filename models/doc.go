// Package models holds the gorm structs, one per table. JSON documents that
// the seed stores as TEXT are kept as strings here and decoded by the code
// that owns them. All times are UTC.
package models
