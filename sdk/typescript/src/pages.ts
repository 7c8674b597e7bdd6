/** One page of a cursor-paginated list, as every list operation answers it. */
export interface CursorPage<T> {
  data: T[];
  next_cursor?: string | null;
}

/**
 * Iterates every item of a cursor-paginated list, fetching pages as the
 * loop needs them (`break` stops fetching). `page` gets the cursor of the
 * page to fetch, undefined for the first.
 *
 *     for await (const d of pages((cursor) =>
 *       aqio.GET('/api/webhooks/{id}/deliveries', { params: { path: { id }, query: { cursor } } }).then(unwrap))) {
 *       console.log(d.id, d.status);
 *     }
 */
export async function* pages<T>(page: (cursor: string | undefined) => Promise<CursorPage<T>>): AsyncGenerator<T, void, undefined> {
  let cursor: string | undefined;
  for (;;) {
    const p = await page(cursor);
    for (const item of p.data) yield item;
    if (!p.next_cursor) return;
    cursor = p.next_cursor;
  }
}
