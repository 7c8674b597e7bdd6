package webhookops_test

import (
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

func clientTrigger() client.ScheduleTriggerOptions {
	return client.ScheduleTriggerOptions{Overlap: enums.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}
}
