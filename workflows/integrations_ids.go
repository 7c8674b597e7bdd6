package workflows

import (
	"fmt"
	"strings"
)

// Workflow-ID builders of the integrations. All are business keys, readable
// in the Temporal UI, and carry no personal data.
const (
	refreshPrefix    = "oauth-refresh:"
	connectPrefix    = "oauth-connect:"
	syncPrefix       = "integration-sync:"
	pushPrefix       = "integration-push:"
	reminderPrefix   = "slack-reminder:"
	disconnectPrefix = "integration-disconnect:"
	schedulePrefix   = "integration-sync-schedule:"
)

// OAuthStateCleanupScheduleID is the hourly Temporal Schedule that deletes
// expired OAuth authorization states (its runs are oauth-state-cleanup-<time>).
const OAuthStateCleanupScheduleID = "oauth-state-cleanup"

// TokenRefreshWorkflowID is the one long-lived refresh loop of an integration.
func TokenRefreshWorkflowID(integrationID string) string { return refreshPrefix + integrationID }

// ConnectWorkflowID is the code exchange of one authorize call.
func ConnectWorkflowID(stateID string) string { return connectPrefix + stateID }

// SyncWorkflowID is one sync run.
func SyncWorkflowID(integrationID, syncLogID string) string {
	return syncPrefix + integrationID + ":" + syncLogID
}

// ScheduledSyncWorkflowID is the prefix of a schedule's runs (Temporal
// appends the nominal time).
func ScheduledSyncWorkflowID(integrationID string) string {
	return syncPrefix + integrationID + ":scheduled"
}

// SyncScheduleID is the Temporal Schedule of an integration's periodic syncs.
func SyncScheduleID(integrationID string) string { return schedulePrefix + integrationID }

// PushWorkflowID makes a push idempotent per integration and Aqio event.
func PushWorkflowID(integrationID, eventID string) string {
	return pushPrefix + integrationID + ":" + eventID
}

// PushRetryWorkflowID is the re-run of a failed push (its own run, linked
// to the original by the push row's retry_of).
func PushRetryWorkflowID(integrationID, eventID, pushID string) string {
	return PushWorkflowID(integrationID, eventID) + ":retry:" + pushID
}

// ReminderWorkflowID is the durable reminder timer of one Aqio event in one Slack integration.
func ReminderWorkflowID(integrationID, aqioEventID string) string {
	return reminderPrefix + integrationID + ":" + aqioEventID
}

// DisconnectWorkflowID revokes and deletes an integration.
func DisconnectWorkflowID(integrationID string) string { return disconnectPrefix + integrationID }

// ParseSyncWorkflowID is the inverse of SyncWorkflowID.
func ParseSyncWorkflowID(id string) (integrationID, syncLogID string, err error) {
	rest, ok := strings.CutPrefix(id, syncPrefix)
	if !ok {
		return "", "", fmt.Errorf("not a sync workflow id: %q", id)
	}
	integrationID, syncLogID, ok = strings.Cut(rest, ":")
	if !ok || integrationID == "" || syncLogID == "" {
		return "", "", fmt.Errorf("malformed sync workflow id: %q", id)
	}
	return integrationID, syncLogID, nil
}

// ParsePushWorkflowID is the inverse of PushWorkflowID.
func ParsePushWorkflowID(id string) (integrationID, eventID string, err error) {
	rest, ok := strings.CutPrefix(id, pushPrefix)
	if !ok {
		return "", "", fmt.Errorf("not a push workflow id: %q", id)
	}
	integrationID, eventID, ok = strings.Cut(rest, ":")
	if !ok || integrationID == "" || eventID == "" {
		return "", "", fmt.Errorf("malformed push workflow id: %q", id)
	}
	return integrationID, eventID, nil
}

// Signals of the integration workflows.
const (
	// SignalRefreshNow makes the refresh loop refresh at once.
	SignalRefreshNow = "refresh-now"
	// SignalStop ends the refresh loop (the integration is being deleted).
	SignalStop = "stop"
	// SignalReconnected wakes a loop waiting after invalid_grant.
	SignalReconnected = "reconnected"
	// SignalReschedule moves a reminder (the event's start changed).
	SignalReschedule = "reschedule"
	// SignalCancel cancels a reminder (the event was cancelled).
	SignalCancel = "cancel"
)
