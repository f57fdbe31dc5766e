package main

import "errors"

// undoStack holds the inverse of every change ADD made so far; on failure
// they run newest first, and every one runs even if another fails.
type undoStack struct {
	steps []undoStep
}

type undoStep struct {
	what string
	do   func() error
}

func (u *undoStack) push(what string, do func() error) {
	u.steps = append(u.steps, undoStep{what, do})
}

func (u *undoStack) run(log *logger) error {
	var errs []error
	for i := len(u.steps) - 1; i >= 0; i-- {
		s := u.steps[i]
		if err := s.do(); err != nil {
			log.Errorf("undo %s: %v", s.what, err)
			errs = append(errs, err)
		}
	}
	u.steps = nil
	return errors.Join(errs...)
}
