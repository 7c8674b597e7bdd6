package providers

import "time"

// AqioEvent is the part of an Aqio event object connectors use.
type AqioEvent struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	StartsAt     string `json:"starts_at"`
	EndsAt       string `json:"ends_at"`
	Timezone     string `json:"timezone"`
	Location     string `json:"location"`
	LocationType string `json:"location_type"` // in_person, virtual or hybrid
	OnlineURL    string `json:"online_url"`
	// Visibility "private" marks an event kept off calendars unless a
	// connector's settings include private events.
	Visibility   string   `json:"visibility"`
	MaxAttendees *int     `json:"max_attendees"`
	URL          string   `json:"url"`
	Status       string   `json:"status"`
	Price        *float64 `json:"price"`
	Currency     string   `json:"currency"`
}

// Online reports whether the event is virtual or hybrid.
func (e AqioEvent) Online() bool { return e.LocationType == "virtual" || e.LocationType == "hybrid" }

// Times parses starts_at and ends_at (RFC 3339); a missing or unparseable
// end is one hour after the start (an end before the start is kept: the
// provider refuses it as a record error).
func (e AqioEvent) Times() (start, end time.Time, ok bool) {
	start, err := time.Parse(time.RFC3339, e.StartsAt)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	end, err = time.Parse(time.RFC3339, e.EndsAt)
	if err != nil {
		end = start.Add(time.Hour)
	}
	return start, end, true
}

// AqioRegistration is the part of a registration object connectors use.
type AqioRegistration struct {
	ID         string         `json:"id"`
	EventID    string         `json:"event_id"`
	UserID     *string        `json:"user_id"`
	UserEmail  string         `json:"user_email"`
	UserName   *string        `json:"user_name"`
	Status     string         `json:"status"`
	TicketType *string        `json:"ticket_type"`
	Answers    map[string]any `json:"answers"`
	// MarketingConsent is the registrant's opt-in to marketing email;
	// absent means no consent.
	MarketingConsent *bool  `json:"marketing_consent"`
	Attended         *bool  `json:"attended"`
	RegisteredAt     string `json:"registered_at"`
}

// Consented reports an explicit marketing opt-in.
func (r AqioRegistration) Consented() bool { return r.MarketingConsent != nil && *r.MarketingConsent }

// AqioPayment is the part of a payment object connectors use.
type AqioPayment struct {
	ID             string  `json:"id"`
	Amount         float64 `json:"amount"`
	Currency       string  `json:"currency"`
	Status         string  `json:"status"`
	EventID        string  `json:"event_id"`
	RegistrationID string  `json:"registration_id"`
	UserEmail      string  `json:"user_email"`
	PaidAt         string  `json:"paid_at"`
}
