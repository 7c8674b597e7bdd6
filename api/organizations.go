package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
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
