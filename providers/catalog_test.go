package providers

import "testing"

// TestConfigured: a provider with credential fields can be connected
// without an OAuth client (only /authorize needs the client id).
func TestConfigured(t *testing.T) {
	apiKey := []CredentialField{{Name: "api_key", Secret: true}}
	cases := []struct {
		name            string
		p               Provider
		configured, oau bool
	}{
		{name: "oauth without client", p: Provider{Info: Info{Auth: AuthOAuth2}}},
		{name: "oauth with client", p: Provider{Info: Info{Auth: AuthOAuth2}, ClientID: "c"}, configured: true, oau: true},
		{name: "oauth or api key (Kit) without client", p: Provider{Info: Info{Auth: AuthOAuth2, CredentialFields: apiKey}}, configured: true},
		{name: "oauth or api key (Kit) with client", p: Provider{Info: Info{Auth: AuthOAuth2, CredentialFields: apiKey}, ClientID: "c"}, configured: true, oau: true},
		{name: "api key", p: Provider{Info: Info{Auth: AuthAPIKey, CredentialFields: apiKey}}, configured: true},
		{name: "api key with a client id set", p: Provider{Info: Info{Auth: AuthAPIKey}, ClientID: "c"}, configured: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Configured(); got != tc.configured {
				t.Errorf("Configured() = %v, want %v", got, tc.configured)
			}
			if got := tc.p.OAuthConfigured(); got != tc.oau {
				t.Errorf("OAuthConfigured() = %v, want %v", got, tc.oau)
			}
		})
	}
}
