package api

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/ratelimit"
	"github.com/aqio/connect/store"
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

// usageKeyView is one of the busiest keys of a usage series.
type usageKeyView struct {
	APIKeyID    string             `json:"api_key_id"`
	Name        string             `json:"name"`
	KeyPrefix   string             `json:"key_prefix"`
	Allowed     int64              `json:"allowed"`
	Denied      int64              `json:"denied"`
	PeakAllowed int64              `json:"peak_allowed"`
	PeakStart   *time.Time         `json:"peak_start"`
	Headroom    int64              `json:"headroom"`
	Data        []store.UsagePoint `json:"data,omitempty"`
}

// usageSeries is the charts' view of usage: zero-filled intervals for the
// organization (or one key), the plan's per-key limit per interval and the
// busiest keys with their headroom.
func (s *Server) usageSeries(c echo.Context) error {
	ctx := c.Request().Context()
	org := principal(c).OrganizationID
	gname := c.QueryParam("granularity")
	if gname == "" {
		gname = "hour"
	}
	g, ok := granularities[gname]
	if !ok {
		return FieldError("granularity", "granularity must be minute, hour or day")
	}
	groupBy := c.QueryParam("group_by")
	if groupBy == "" {
		groupBy = "none"
	}
	if groupBy != "none" && groupBy != "key" {
		return FieldError("group_by", "group_by must be none or key")
	}
	top := 10
	if v := c.QueryParam("top"); v != "" {
		top, _ = strconv.Atoi(v) // the OpenAPI document bounds it
	}
	from, to, err := timeRange(c, g.defRange, g.maxRange)
	if err != nil {
		return err
	}
	keyID := c.QueryParam("api_key_id")
	if keyID != "" {
		if _, err := s.deps.Store.GetAPIKey(ctx, org, keyID); errors.Is(err, store.ErrNotFound) {
			return &Error{Status: http.StatusNotFound, Code: "not_found", Field: "api_key_id", Message: "api_key_id: no such API key in this organization"}
		} else if err != nil {
			return err
		}
	}
	plan := models.PlanFree
	if o, err := s.deps.Store.GetOrganization(ctx, org); err == nil && o.Plan != "" {
		plan = o.Plan
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var policy ratelimit.Policy
	if s.deps.APIKeys != nil {
		p, ok := s.deps.APIKeys.Policies[plan]
		if !ok {
			p = s.deps.APIKeys.Policies[models.PlanFree]
		}
		policy = p
	}
	limit := int64(policy.PerHour)
	switch gname {
	case "minute":
		limit = int64(policy.PerMinute)
	case "day":
		limit = int64(policy.PerHour) * 24
	}

	rows, err := s.deps.Store.UsageBuckets(ctx, org, keyID, from, to)
	if err != nil {
		return err
	}
	start := intervalStart(from, g.step)
	n := int(to.Sub(start) / g.step)
	if to.Sub(start)%g.step != 0 {
		n++
	}
	series := func() []store.UsagePoint {
		out := make([]store.UsagePoint, n)
		for i := range out {
			out[i].Start = start.Add(time.Duration(i) * g.step)
		}
		return out
	}
	total := series()
	perKey := map[string][]store.UsagePoint{}
	var totals struct{ allowed, denied int64 }
	for _, r := range rows {
		i := int(intervalStart(r.BucketStart.UTC(), g.step).Sub(start) / g.step)
		if i < 0 || i >= n {
			continue
		}
		total[i].Allowed += r.Allowed
		total[i].Denied += r.Denied
		totals.allowed += r.Allowed
		totals.denied += r.Denied
		ks := perKey[r.APIKeyID]
		if ks == nil {
			ks = series()
			perKey[r.APIKeyID] = ks
		}
		ks[i].Allowed += r.Allowed
		ks[i].Denied += r.Denied
	}
	keys := make([]usageKeyView, 0, len(perKey))
	for id, pts := range perKey {
		k := usageKeyView{APIKeyID: id}
		for _, p := range pts {
			k.Allowed += p.Allowed
			k.Denied += p.Denied
			if p.Allowed > k.PeakAllowed {
				k.PeakAllowed = p.Allowed
				st := p.Start
				k.PeakStart = &st
			}
		}
		k.Headroom = max(limit-k.PeakAllowed, 0)
		if groupBy == "key" {
			k.Data = pts
		}
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Allowed != keys[j].Allowed {
			return keys[i].Allowed > keys[j].Allowed
		}
		return keys[i].APIKeyID < keys[j].APIKeyID
	})
	if len(keys) > top {
		keys = keys[:top]
	}
	for i := range keys {
		if k, err := s.deps.Store.GetAPIKey(ctx, org, keys[i].APIKeyID); err == nil {
			keys[i].Name, keys[i].KeyPrefix = k.Name, k.KeyPrefix
		}
	}
	var keyRef any
	if keyID != "" {
		keyRef = keyID
	}
	return c.JSON(http.StatusOK, map[string]any{
		"from": from, "to": to, "granularity": gname, "group_by": groupBy, "api_key_id": keyRef,
		"plan":               map[string]any{"name": plan, "per_minute": policy.PerMinute, "per_hour": policy.PerHour},
		"limit_per_interval": limit,
		"totals":             map[string]int64{"allowed": totals.allowed, "denied": totals.denied},
		"data":               total, "keys": keys,
	})
}

// intervalStart is the start of t's interval (days start at midnight UTC).
func intervalStart(t time.Time, step time.Duration) time.Time {
	t = t.UTC()
	if step == 24*time.Hour {
		y, m, d := t.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return t.Truncate(step)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }
