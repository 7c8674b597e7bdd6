package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/models"
)

func (s *Server) putOrganization(c echo.Context) error {
	p := principal(c)
	if c.Param("id") != p.OrganizationID {
		return &Error{Status: http.StatusForbidden, Code: "organization_mismatch", Field: "id", Message: "the path id must be the organization the call acts for"}
	}
	var in struct {
		Name string `json:"name"`
		Plan string `json:"plan"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	org, created, err := s.deps.Store.PutOrganization(c.Request().Context(), p.OrganizationID, in.Name, in.Plan)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, org)
}

func (s *Server) getOrganization(c echo.Context) error {
	p := principal(c)
	if c.Param("id") != p.OrganizationID {
		return notFound("organization")
	}
	org, err := s.deps.Store.EnsureOrganization(c.Request().Context(), p.OrganizationID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, org)
}

// organizationsPath lists every organization; the service token calls it
// without an organization header (ServiceTokenAuth).
const organizationsPath = "/api/organizations"

// listOrganizations lists every organization (service token only: its
// operation declares x-required-scope service_token), for the console's
// organization picker in dev and for operators' scripts.
func (s *Server) listOrganizations(c echo.Context) error {
	limit := 200
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return FieldError("limit", "limit must be an integer from 1 to 500")
		}
		limit = n
	}
	orgs, next, err := s.deps.Store.ListOrganizations(c.Request().Context(), limit, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	if orgs == nil {
		orgs = []models.Organization{}
	}
	return c.JSON(http.StatusOK, map[string]any{"data": orgs, "next_cursor": nullable(next)})
}
