package store

import "gorm.io/gorm"

// Owner is the service's one owner rule for rows a user can own (user API
// keys, user integrations): a row without a user belongs to the
// organization; a user's row is reached by that user, or by a caller with
// the area's organization-wide permission (AllUsers). apikeys.OwnerFor
// builds it from a caller's scopes.
type Owner struct {
	UserID   string // the calling user; "" when the caller is no user
	AllUsers bool   // the caller holds the area's org-wide scope
}

// Owns reports whether the row's owner is the calling user.
func (o Owner) Owns(owner *string) bool {
	return owner != nil && o.UserID != "" && *owner == o.UserID
}

// Reaches reports whether the caller may see a row owned by owner (nil:
// the organization's).
func (o Owner) Reaches(owner *string) bool {
	return owner == nil || o.AllUsers || o.Owns(owner)
}

// scope is Reaches as a query condition on user_id.
func (o Owner) scope(q *gorm.DB) *gorm.DB {
	switch {
	case o.AllUsers:
		return q
	case o.UserID == "":
		return q.Where("user_id IS NULL")
	default:
		return q.Where("(user_id IS NULL OR user_id = ?)", o.UserID)
	}
}
