package integrations

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/store"
)

// FeedPathPrefix is where subscribable feeds are served:
// FeedPathPrefix + "{integration_id}/{token}.ics".
const FeedPathPrefix = "/feeds/calendar/"

// FeedURLs are a feed's secret addresses.
type FeedURLs struct {
	Enabled   bool   `json:"enabled"`
	URL       string `json:"url,omitempty"`
	WebcalURL string `json:"webcal_url,omitempty"`
}

// Feed is a rendered feed with its entity tag.
type Feed struct {
	ContentType string
	Body        []byte
	ETag        string
}

func (s *Service) feeder(in models.Integration) (providers.Feeder, error) {
	p, ok := s.Catalog.Get(in.IntegrationType)
	if f, isFeeder := p.Connector.(providers.Feeder); ok && isFeeder {
		return f, nil
	}
	return nil, fmt.Errorf("%w: %s integrations have no feed", ErrConflict, p.DisplayName)
}

// extras decrypts the integration's credential extras.
func (s *Service) extras(in models.Integration) (map[string]any, error) {
	out := map[string]any{}
	if in.TokenExtra == nil {
		return out, nil
	}
	b, err := s.Ring.Decrypt(*in.TokenExtra, []byte(in.ID))
	if err != nil {
		return nil, fmt.Errorf("decrypt extras of %s: %w", in.ID, err)
	}
	if err := json.Unmarshal(b, &out); err != nil || out == nil {
		out = map[string]any{}
	}
	return out, nil
}

func (s *Service) saveExtras(ctx context.Context, in models.Integration, extra map[string]any) error {
	b, _ := json.Marshal(extra)
	enc, err := s.Ring.Encrypt(b, []byte(in.ID))
	if err != nil {
		return err
	}
	_, err = s.Store.UpdateIntegration(ctx, in.OrganizationID, in.ID, map[string]any{"token_extra": enc, "updated_at": s.now()})
	return err
}

func feedURLs(base, id, token string) FeedURLs {
	if token == "" {
		return FeedURLs{}
	}
	u := strings.TrimRight(base, "/") + FeedPathPrefix + id + "/" + token + ".ics"
	web := u
	if i := strings.Index(u, "://"); i >= 0 {
		web = "webcal" + u[i:]
	}
	return FeedURLs{Enabled: true, URL: u, WebcalURL: web}
}

// FeedURLs returns the integration's feed addresses (Enabled false when
// no feed token is issued). base is the service's public URL.
func (s *Service) FeedURLs(ctx context.Context, in models.Integration, base string) (FeedURLs, error) {
	if _, err := s.feeder(in); err != nil {
		return FeedURLs{}, err
	}
	ex, err := s.extras(in)
	if err != nil {
		return FeedURLs{}, err
	}
	tok, _ := ex[providers.FeedTokenExtra].(string)
	return feedURLs(base, in.ID, tok), nil
}

// RotateFeed issues a new secret feed token (the first one, or a
// replacement: the old URL stops working at once).
func (s *Service) RotateFeed(ctx context.Context, in models.Integration, base string) (FeedURLs, error) {
	if _, err := s.feeder(in); err != nil {
		return FeedURLs{}, err
	}
	ex, err := s.extras(in)
	if err != nil {
		return FeedURLs{}, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return FeedURLs{}, err
	}
	tok := base64.RawURLEncoding.EncodeToString(raw)
	ex[providers.FeedTokenExtra] = tok
	if err := s.saveExtras(ctx, in, ex); err != nil {
		return FeedURLs{}, err
	}
	return feedURLs(base, in.ID, tok), nil
}

// RevokeFeed withdraws the feed token: the URL answers 404 until a new
// one is issued.
func (s *Service) RevokeFeed(ctx context.Context, in models.Integration) error {
	if _, err := s.feeder(in); err != nil {
		return err
	}
	ex, err := s.extras(in)
	if err != nil {
		return err
	}
	if _, ok := ex[providers.FeedTokenExtra]; !ok {
		return nil
	}
	delete(ex, providers.FeedTokenExtra)
	return s.saveExtras(ctx, in, ex)
}

// RenderFeed renders the feed of integration id for a subscriber holding
// token. An unknown integration, a wrong or withdrawn token and a disabled
// integration are all store.ErrNotFound (nothing tells them apart).
func (s *Service) RenderFeed(ctx context.Context, id, token string) (Feed, error) {
	in, err := s.Store.GetIntegrationByID(ctx, id)
	if err != nil {
		return Feed{}, err
	}
	f, err := s.feeder(in)
	if err != nil || in.Status == models.IntegrationDisabled {
		return Feed{}, store.ErrNotFound
	}
	ex, err := s.extras(in)
	if err != nil {
		return Feed{}, err
	}
	want, _ := ex[providers.FeedTokenExtra].(string)
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(token)) != 1 {
		return Feed{}, store.ErrNotFound
	}
	p, _ := s.Catalog.Get(in.IntegrationType)
	var raw []byte
	if in.Settings != nil {
		raw = []byte(*in.Settings)
	}
	set, err := p.Connector.ParseSettings(raw)
	if err != nil {
		return Feed{}, fmt.Errorf("settings of %s: %w", in.ID, err)
	}
	rows, err := s.Store.ListLinks(ctx, in.ID)
	if err != nil {
		return Feed{}, err
	}
	links := make([]providers.Link, 0, len(rows))
	for _, r := range rows {
		l := providers.Link{ObjectType: r.ObjectType, ObjectID: r.ObjectID, ExternalID: r.ExternalID, Status: r.Status}
		if r.ConferenceURL != nil {
			l.URL = *r.ConferenceURL
		}
		if r.Data != nil {
			_ = json.Unmarshal([]byte(*r.Data), &l.Data)
		}
		links = append(links, l)
	}
	out, err := f.Feed(providers.FeedInput{Name: in.Name, Settings: set, Links: links, Now: s.now()})
	if err != nil {
		return Feed{}, err
	}
	sum := sha256.Sum256(out.Body)
	return Feed{ContentType: out.ContentType, Body: out.Body, ETag: `"` + hex.EncodeToString(sum[:16]) + `"`}, nil
}
