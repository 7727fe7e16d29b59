package admin

import "context"

// Account is a dbt Cloud account (v2 and v3 AccountResponse).
type Account struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	Plan            string `json:"plan"`
	State           int    `json:"state"`
	Identifier      string `json:"identifier"`
	StaticSubdomain string `json:"static_subdomain"`
	VanitySubdomain string `json:"vanity_subdomain"`
	Locked          bool   `json:"locked"`
	LockReason      string `json:"lock_reason"`
	RunSlots        int    `json:"run_slots"`
	DocsJobID       int64  `json:"docs_job_id"`
	FreshnessJobID  int64  `json:"freshness_job_id"`
	CreatedAt       Time   `json:"created_at"`
	UpdatedAt       Time   `json:"updated_at"`
}

// Account fetches the client's account (GET /api/v2/accounts/{id}/). It is
// the cheapest call that proves the token, host and account ID fit
// together: a 401 means the token or the host is wrong, a 403 or 404 that
// the token lacks access to this account.
func (c *Client) Account(ctx context.Context) (Account, error) {
	a, err := getOne[Account](ctx, c, c.accountPath("v2", ""), nil)
	if err != nil {
		return Account{}, err
	}
	return a, nil
}
