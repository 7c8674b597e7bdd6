package aqio

import (
	"context"
	"iter"
)

// Page fetches one page of a cursor-paginated list: the items and the
// next_cursor (nil or empty on the last page). cursor is nil for the first.
type Page[T any] func(ctx context.Context, cursor *string) (items []T, next *string, err error)

// Pages iterates every item of a cursor-paginated list, fetching pages as
// the loop needs them; an error ends the iteration after it is yielded.
//
//	for d, err := range aqio.Pages(ctx, func(ctx context.Context, cursor *string) ([]aqio.Delivery, *string, error) {
//		res, err := c.ListDeliveriesWithResponse(ctx, webhookID, &aqio.ListDeliveriesParams{Cursor: cursor})
//		if err := aqio.Check(res, err); err != nil {
//			return nil, nil, err
//		}
//		return res.JSON200.Data, res.JSON200.NextCursor, nil
//	}) { … }
func Pages[T any](ctx context.Context, page Page[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var cursor *string
		for {
			items, next, err := page(ctx, cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == nil || *next == "" {
				return
			}
			cursor = next
		}
	}
}
