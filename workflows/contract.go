// Package workflows owns the Temporal contract of the service: task queues,
// workflow-ID builders and parsers, search attributes, and the workflows.
package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Task queues.
const (
	WebhooksQueue     = "webhooks"
	IntegrationsQueue = "integrations"
)

// Custom search attributes (Keyword) operators filter runs by.
var (
	AttrOrganizationID  = temporal.NewSearchAttributeKeyKeyword("AqioOrganizationId")
	AttrWebhookID       = temporal.NewSearchAttributeKeyKeyword("AqioWebhookId")
	AttrEventType       = temporal.NewSearchAttributeKeyKeyword("AqioEventType")
	AttrIntegrationID   = temporal.NewSearchAttributeKeyKeyword("AqioIntegrationId")
	AttrIntegrationType = temporal.NewSearchAttributeKeyKeyword("AqioIntegrationType")
)

// DeliveryAttributes are the search attributes of a delivery run (a
// DeliveryBatch run holds one event type).
func DeliveryAttributes(orgID, webhookID, eventType string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		AttrOrganizationID.ValueSet(orgID),
		AttrWebhookID.ValueSet(webhookID),
		AttrEventType.ValueSet(eventType),
	)
}

// SearchAttributes lists the custom search attributes to register.
func SearchAttributes() map[string]enums.IndexedValueType {
	m := map[string]enums.IndexedValueType{}
	for _, k := range []temporal.SearchAttributeKeyKeyword{AttrOrganizationID, AttrWebhookID, AttrEventType, AttrIntegrationID, AttrIntegrationType} {
		m[k.GetName()] = enums.INDEXED_VALUE_TYPE_KEYWORD
	}
	return m
}

const (
	deliveryPrefix = "webhook-delivery:"
	batchPrefix    = "webhook-batch:"
	endpointPrefix = "webhook-endpoint:"
)

// EndpointWorkflowID names the Endpoint workflow of one webhook (one run
// at a time; a new run after the previous one ended).
func EndpointWorkflowID(webhookID string) string {
	return endpointPrefix + webhookID
}

// ParseEndpointWorkflowID is the inverse of EndpointWorkflowID.
func ParseEndpointWorkflowID(id string) (webhookID string, ok bool) {
	webhookID, ok = strings.CutPrefix(id, endpointPrefix)
	return webhookID, ok && webhookID != ""
}

// EndpointAttributes are the search attributes of an Endpoint run.
func EndpointAttributes(orgID, webhookID string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(AttrOrganizationID.ValueSet(orgID), AttrWebhookID.ValueSet(webhookID))
}

// BatchWorkflowID names the DeliveryBatch run of one outbox batch.
func BatchWorkflowID(webhookID, batchID string) string {
	return batchPrefix + webhookID + ":" + batchID
}

// DeliveryWorkflowID is the business key of a delivery: one webhook, one
// event. Starting it twice starts nothing new.
func DeliveryWorkflowID(webhookID, eventID string) string {
	return deliveryPrefix + webhookID + ":" + eventID
}

// RedeliveryWorkflowID names a re-delivery run of an original delivery.
func RedeliveryWorkflowID(webhookID, eventID, suffix string) string {
	return DeliveryWorkflowID(webhookID, eventID) + ":redeliver:" + suffix
}

// ParseDeliveryWorkflowID is the inverse of DeliveryWorkflowID (and of
// RedeliveryWorkflowID, whose suffix it ignores).
func ParseDeliveryWorkflowID(id string) (webhookID, eventID string, err error) {
	rest, ok := strings.CutPrefix(id, deliveryPrefix)
	if !ok {
		return "", "", fmt.Errorf("not a delivery workflow id: %q", id)
	}
	webhookID, rest, ok = strings.Cut(rest, ":")
	if !ok || webhookID == "" || rest == "" {
		return "", "", fmt.Errorf("malformed delivery workflow id: %q", id)
	}
	eventID, _, _ = strings.Cut(rest, ":redeliver:")
	return webhookID, eventID, nil
}

// ParseBatchWorkflowID is the inverse of BatchWorkflowID.
func ParseBatchWorkflowID(id string) (webhookID, batchID string, ok bool) {
	rest, ok := strings.CutPrefix(id, batchPrefix)
	if !ok {
		return "", "", false
	}
	webhookID, batchID, ok = strings.Cut(rest, ":")
	return webhookID, batchID, ok && webhookID != "" && batchID != ""
}
