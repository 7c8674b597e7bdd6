package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/privacy"
	"github.com/aqio/connect/store"
)

func (s *Server) registerPrivacyRoutes(e *echo.Echo) {
	e.POST("/api/privacy/erasures", s.createErasure)
	e.GET("/api/privacy/erasures/:id", s.getErasure)
	e.POST("/api/privacy/exports", s.createExport)
	e.GET("/api/privacy/exports/:id", s.getExport)
	e.GET("/api/privacy/exports/:id/download", s.downloadExport)
}

type subjectRequest struct {
	RequestID string `json:"request_id"`
	Email     string `json:"email"`
	UserID    string `json:"user_id"`
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,200}$`)

// emailPattern is deliberately loose: one @, something before, a dot after.
var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

func (s *Server) bindSubject(c echo.Context) (privacy.Request, error) {
	var in subjectRequest
	if err := bind(c, &in); err != nil {
		return privacy.Request{}, err
	}
	in.Email, in.UserID = strings.TrimSpace(in.Email), strings.TrimSpace(in.UserID)
	switch {
	case !requestIDPattern.MatchString(in.RequestID):
		return privacy.Request{}, FieldError("request_id", "request_id is required: 1 to 200 letters, digits, '.', '_', ':' or '-'")
	case in.Email == "" && in.UserID == "":
		return privacy.Request{}, FieldError("email", "name the data subject: email, user_id or both")
	case in.Email != "" && (len(in.Email) > 320 || !emailPattern.MatchString(in.Email)):
		return privacy.Request{}, FieldError("email", "email must be an email address")
	case len(in.UserID) > 200:
		return privacy.Request{}, FieldError("user_id", "user_id must be at most 200 characters")
	}
	p := principal(c)
	by := p.UserID
	if p.Method == AuthAPIKey {
		by = p.CredentialID
	}
	return privacy.Request{OrganizationID: p.OrganizationID, RequestID: in.RequestID, Email: in.Email, UserID: in.UserID, RequestedBy: by}, nil
}

func subjectRequestError(err error) error {
	if errors.Is(err, privacy.ErrRequestReused) {
		return &Error{Status: http.StatusConflict, Code: "request_id_reused", Field: "request_id",
			Message: "request_id was already used for another data subject"}
	}
	return err
}

type erasureView struct {
	ID          string                   `json:"id"`
	Object      string                   `json:"object"`
	RequestID   string                   `json:"request_id"`
	Status      string                   `json:"status"`
	WorkflowID  string                   `json:"workflow_id"`
	TemporalURL string                   `json:"temporal_url,omitempty"`
	CreatedAt   time.Time                `json:"created_at"`
	CompletedAt *time.Time               `json:"completed_at"`
	Report      activities.ErasureReport `json:"report"`
}

func (s *Server) erasureView(e models.PrivacyErasure) erasureView {
	rep := activities.ErasureReport{Local: map[string]int64{}, Systems: []activities.SystemOutcome{}}
	if e.Report != nil {
		_ = json.Unmarshal([]byte(*e.Report), &rep)
	}
	if rep.Local == nil {
		rep.Local = map[string]int64{}
	}
	if rep.Systems == nil {
		rep.Systems = []activities.SystemOutcome{}
	}
	return erasureView{ID: e.ID, Object: "privacy_erasure", RequestID: e.RequestID, Status: e.Status, WorkflowID: e.WorkflowID,
		TemporalURL: s.deps.Privacy.RunURL(e.WorkflowID), CreatedAt: e.CreatedAt, CompletedAt: e.CompletedAt, Report: rep}
}

func (s *Server) createErasure(c echo.Context) error {
	req, err := s.bindSubject(c)
	if err != nil {
		return err
	}
	req.Audit = privacyEntry(c, "privacy.erasure_requested", "privacy_erasure", req.RequestID)
	e, created, err := s.deps.Privacy.RequestErasure(c.Request().Context(), req)
	if err != nil {
		return subjectRequestError(err)
	}
	if !created {
		return c.JSON(http.StatusOK, s.erasureView(e))
	}
	return c.JSON(http.StatusAccepted, s.erasureView(e))
}

func (s *Server) getErasure(c echo.Context) error {
	e, err := s.deps.Privacy.GetErasure(c.Request().Context(), principal(c).OrganizationID, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("erasure")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.erasureView(e))
}

type exportView struct {
	ID           string     `json:"id"`
	Object       string     `json:"object"`
	RequestID    string     `json:"request_id"`
	Status       string     `json:"status"`
	WorkflowID   string     `json:"workflow_id"`
	TemporalURL  string     `json:"temporal_url,omitempty"`
	SizeBytes    *int64     `json:"size_bytes"`
	DownloadURL  *string    `json:"download_url"`
	CreatedAt    time.Time  `json:"created_at"`
	CompletedAt  *time.Time `json:"completed_at"`
	DownloadedAt *time.Time `json:"downloaded_at"`
}

func (s *Server) exportView(x models.PrivacyExport) exportView {
	v := exportView{ID: x.ID, Object: "privacy_export", RequestID: x.RequestID, Status: x.Status, WorkflowID: x.WorkflowID,
		TemporalURL: s.deps.Privacy.RunURL(x.WorkflowID), SizeBytes: x.SizeBytes, CreatedAt: x.CreatedAt,
		CompletedAt: x.CompletedAt, DownloadedAt: x.DownloadedAt}
	if x.Status == models.PrivacyReady {
		u := "/api/privacy/exports/" + x.ID + "/download"
		v.DownloadURL = &u
	}
	return v
}

func (s *Server) createExport(c echo.Context) error {
	req, err := s.bindSubject(c)
	if err != nil {
		return err
	}
	req.Audit = privacyEntry(c, "privacy.export_requested", "privacy_export", req.RequestID)
	x, created, err := s.deps.Privacy.RequestExport(c.Request().Context(), req)
	if err != nil {
		return subjectRequestError(err)
	}
	if !created {
		return c.JSON(http.StatusOK, s.exportView(x))
	}
	return c.JSON(http.StatusAccepted, s.exportView(x))
}

func (s *Server) getExport(c echo.Context) error {
	x, err := s.deps.Privacy.GetExport(c.Request().Context(), principal(c).OrganizationID, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("export")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.exportView(x))
}

func (s *Server) downloadExport(c echo.Context) error {
	doc, err := s.deps.Privacy.DownloadExport(c.Request().Context(), principal(c).OrganizationID, c.Param("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("export")
	case errors.Is(err, privacy.ErrGone):
		return Errorf(http.StatusGone, "export_downloaded", "the export was downloaded already and is deleted; request a new one")
	case errors.Is(err, privacy.ErrNotReady):
		return Errorf(http.StatusConflict, "export_not_ready", "the export is not ready; poll GET /api/privacy/exports/{id} until status is ready")
	case err != nil:
		return err
	}
	s.auditPrivacy(c, "privacy.export_downloaded", "privacy_export", c.Param("id"), nil)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSONBlob(http.StatusOK, doc)
}

// privacyEntry is the audit entry of a data-subject request (ids only),
// written with the request row (privacy.Request.Audit).
func privacyEntry(c echo.Context, action, targetType, requestID string) *audit.Entry {
	p := principal(c)
	e := audit.Entry{OrganizationID: p.OrganizationID, Action: action, TargetType: targetType,
		Details: map[string]any{"request_id": requestID}}.By(audit.ActorFrom(c.Request().Context()))
	return &e
}

// auditPrivacy appends a data-subject request to the audit log (ids only).
func (s *Server) auditPrivacy(c echo.Context, action, targetType, id string, details map[string]any) {
	p := principal(c)
	actor := p.UserID
	if p.Method == AuthAPIKey {
		actor = p.CredentialID
	}
	err := audit.Record(c.Request().Context(), s.deps.Store.DB(), audit.Entry{
		OrganizationID: p.OrganizationID, Action: action, ActorType: string(p.Method), ActorID: actor,
		TargetType: targetType, TargetID: id, SourceIP: c.RealIP(),
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID), Details: details,
	})
	if err != nil {
		s.deps.Logger.Error("audit record failed", "action", action, "err", err)
	}
}
