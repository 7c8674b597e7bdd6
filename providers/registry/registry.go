// Package registry lists every connector. Adding a provider is one line
// here (and its package, fake, tests and guide).
package registry

import (
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/activecampaign"
	"github.com/aqio/connect/providers/applecalendar"
	"github.com/aqio/connect/providers/discord"
	"github.com/aqio/connect/providers/googlecalendar"
	"github.com/aqio/connect/providers/hubspot"
	"github.com/aqio/connect/providers/kit"
	"github.com/aqio/connect/providers/mailchimp"
	"github.com/aqio/connect/providers/outlookcalendar"
	"github.com/aqio/connect/providers/pipedrive"
	"github.com/aqio/connect/providers/salesforce"
	"github.com/aqio/connect/providers/slack"
	"github.com/aqio/connect/providers/teamschannel"
	"github.com/aqio/connect/providers/zoom"
)

// New returns the registry of all connectors.
func New() *providers.Registry {
	return providers.NewRegistry(
		slack.New(),
		googlecalendar.New(),
		hubspot.New(),
		zoom.New(),
		mailchimp.New(),
		activecampaign.New(),
		pipedrive.New(),
		kit.New(),
		applecalendar.New(),
		outlookcalendar.New(),
		// Catalog entries whose connectors are still to come (issues 10-12).
		planned("teams", "Microsoft Teams"),
		discord.New(),
		teamschannel.New(),
		salesforce.New(),
	)
}

func planned(typ, name string) providers.Connector {
	return providers.Planned(providers.Info{Type: typ, DisplayName: name, Auth: providers.AuthOAuth2})
}
