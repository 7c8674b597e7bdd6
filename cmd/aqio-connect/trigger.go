package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aqio/connect/listen/cli"
)

func runTrigger(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("trigger", flag.ContinueOnError)
	fs.SetOutput(out)
	api := apiFlags(fs)
	var sets []string
	fs.Func("set", "override a field of the example: path=value (dotted path, such as data.object.user_email=x@example.com; the value is JSON when it parses as JSON, else a string); repeatable", func(v string) error {
		sets = append(sets, v)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprint(out, "Usage: aqio-connect trigger <event-type> [--set path=value ...] [--api URL] [--api-key KEY] [--org ID]\n\n"+
			"Posts the event catalog's example of the type (GET /api/event-types) as a domain event.\n"+
			"Needs the events:write scope. See docs/CLI.md.\n\n")
		fs.PrintDefaults()
	}
	// The type may come before or after the flags.
	var typ string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		typ, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if typ == "" && len(rest) > 0 {
		typ, rest = rest[0], rest[1:]
		if err := fs.Parse(rest); err != nil {
			return err
		}
		rest = fs.Args()
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected argument %q", rest[0])
	}
	if typ == "" {
		fs.Usage()
		return fmt.Errorf("give the event type, such as registration.confirmed")
	}
	res, err := cli.Trigger(ctx, cli.TriggerOptions{API: *api, Type: typ, Sets: sets})
	if err != nil {
		return err
	}
	state := "accepted"
	if res.Duplicate {
		state = "already accepted (duplicate id)"
	}
	fmt.Fprintf(out, "Triggered %s: event %s %s, queued for %d webhook(s)\n", res.Type, res.ID, state, len(res.Deliveries))
	for _, d := range res.Deliveries {
		fmt.Fprintf(out, "  %s  %s\n", d.WebhookID, d.Status)
	}
	return nil
}
