package slack

import (
	"regexp"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/chatnotify"
)

// Settings are a Slack integration's settings: the shared chat
// notifications (providers/chatnotify) and the channel.
type Settings struct {
	// Channel to post to (name like "#events" or id). Empty: the
	// incoming webhook chosen at install time.
	Channel string `json:"channel,omitempty"`
	chatnotify.Settings
}

var channelPattern = regexp.MustCompile(`^[#@]?[A-Za-z0-9._-]{1,80}$`)

// ParseSettings decodes and validates settings.
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	if s.Channel != "" && !channelPattern.MatchString(s.Channel) {
		return s, &providers.SettingsError{Field: "settings.channel", Message: "must be a channel name like #events or a channel id"}
	}
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, nil
}
