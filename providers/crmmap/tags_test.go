package crmmap

import (
	"strings"
	"testing"
)

func TestTagTemplates(t *testing.T) {
	if err := CheckTagTemplate("settings.event_tag", "aqio {event_title} {event_id}", 100); err != nil {
		t.Fatal(err)
	}
	if err := CheckTagTemplate("settings.event_tag", "{event_name}", 100); err == nil || !strings.Contains(err.Error(), "{event_name}") {
		t.Fatalf("unknown placeholder: %v", err)
	}
	if err := CheckTagTemplate("settings.event_tag", strings.Repeat("x", 11), 10); err == nil {
		t.Fatal("over-long template accepted")
	}
	if got := ExpandTag("aqio: {event_title}", "evt_1", "", 100); got != "aqio: evt_1" {
		t.Fatalf("no title: %q", got)
	}
	// Cut on a rune boundary, never inside é (2 bytes).
	if got := ExpandTag("{event_title}", "evt_1", "ééé", 5); got != "éé" {
		t.Fatalf("cut: %q", got)
	}
}
