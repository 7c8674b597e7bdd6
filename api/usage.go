package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

var granularities = map[string]struct {
	step, maxRange, defRange time.Duration
}{
	"minute": {time.Minute, 24 * time.Hour, time.Hour},
	"hour":   {time.Hour, 31 * 24 * time.Hour, 24 * time.Hour},
	"day":    {24 * time.Hour, 92 * 24 * time.Hour, 30 * 24 * time.Hour},
}

// timeRange reads from/to (RFC 3339) with defaults and a maximum span.
func timeRange(c echo.Context, def, maxSpan time.Duration) (time.Time, time.Time, error) {
	to := time.Now().UTC()
	if v := c.QueryParam("to"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return to, to, FieldError("to", "to must be an RFC 3339 time")
		}
		to = t.UTC()
	}
	from := to.Add(-def)
	if v := c.QueryParam("from"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return from, to, FieldError("from", "from must be an RFC 3339 time")
		}
		from = t.UTC()
	}
	if !from.Before(to) {
		return from, to, FieldError("from", "from must be before to")
	}
	if to.Sub(from) > maxSpan {
		return from, to, FieldError("from", "the range may span at most %s at this granularity", maxSpan)
	}
	return from, to, nil
}

func (s *Server) apiKeyUsage(c echo.Context) error {
	ctx := c.Request().Context()
	cl := s.caller(c)
	// Whoever may read the key may read its usage.
	k, err := s.deps.APIKeys.Get(ctx, cl, c.Param("id"))
	if err != nil {
		return keyError(err)
	}
	gname := c.QueryParam("granularity")
	if gname == "" {
		gname = "hour"
	}
	g, ok := granularities[gname]
	if !ok {
		return FieldError("granularity", "granularity must be minute, hour or day")
	}
	from, to, err := timeRange(c, g.defRange, g.maxRange)
	if err != nil {
		return err
	}
	points, err := s.deps.Store.KeyUsageSeries(ctx, cl.OrganizationID, k.ID, from, to, g.step)
	if err != nil {
		return err
	}
	var allowed, denied int64
	for _, p := range points {
		allowed += p.Allowed
		denied += p.Denied
	}
	return c.JSON(http.StatusOK, map[string]any{
		"api_key_id": k.ID, "from": from, "to": to, "granularity": gname,
		"totals": map[string]int64{"allowed": allowed, "denied": denied},
		"data":   nonNil(points), "usage_count": k.UsageCount, "last_used_at": k.LastUsedAt,
	})
}

func (s *Server) organizationUsage(c echo.Context) error {
	from, to, err := timeRange(c, 24*time.Hour, 92*24*time.Hour)
	if err != nil {
		return err
	}
	p := principal(c)
	rows, err := s.deps.Store.OrganizationUsage(c.Request().Context(), p.OrganizationID, from, to)
	if err != nil {
		return err
	}
	var allowed, denied int64
	for _, r := range rows {
		allowed += r.Allowed
		denied += r.Denied
	}
	return c.JSON(http.StatusOK, map[string]any{
		"from": from, "to": to, "totals": map[string]int64{"allowed": allowed, "denied": denied}, "data": nonNil(rows),
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }
