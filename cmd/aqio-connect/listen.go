package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aqio/connect/listen/cli"
)

// apiFlags are the flags listen and trigger share: where the API is and
// the credential to call it with.
func apiFlags(fs *flag.FlagSet) *cli.API {
	a := &cli.API{}
	def := os.Getenv("AQIO_API_URL")
	if def == "" {
		def = "http://localhost:8080"
	}
	fs.StringVar(&a.BaseURL, "api", def, "the service's base URL (env AQIO_API_URL)")
	fs.StringVar(&a.Key, "api-key", os.Getenv("AQIO_API_KEY"), "an API key (ak_…) holding the scope the command needs, or the service token with --org (env AQIO_API_KEY)")
	fs.StringVar(&a.OrganizationID, "org", os.Getenv("AQIO_ORGANIZATION_ID"), "the organization to act for; needed with the service token only (env AQIO_ORGANIZATION_ID)")
	return a
}

// listFlag collects a repeatable, comma-separated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func runListen(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	fs.SetOutput(out)
	api := apiFlags(fs)
	forward := fs.String("forward-to", "", "the local URL to post every delivery to (required), such as http://localhost:3000/hook")
	var events listFlag
	fs.Var(&events, "events", "event types or wildcards to receive, comma-separated or repeated (default every event), such as registration.*")
	ttl := fs.Duration("ttl", 0, "how long the endpoint outlives this CLI if it dies without ending it (default 60s; 5s–1h)")
	fs.Usage = func() {
		fmt.Fprint(out, "Usage: aqio-connect listen --forward-to URL [--events registration.*] [--api URL] [--api-key KEY] [--org ID]\n\n"+
			"Registers a temporary endpoint of the organization, prints every delivery it gets and forwards it,\n"+
			"signed, to the local URL. Needs the webhooks:write scope. See docs/CLI.md.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("listen takes no arguments (got %q); give the local URL with --forward-to", fs.Arg(0))
	}
	if *forward == "" {
		fs.Usage()
		return fmt.Errorf("--forward-to is required")
	}
	return cli.Listen(ctx, cli.ListenOptions{API: *api, ForwardTo: *forward, Events: events, TTL: round(*ttl), Out: out})
}

func round(d time.Duration) time.Duration { return d.Round(time.Second) }
