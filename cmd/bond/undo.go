package main

import (
	"errors"
	"fmt"
)

// undoStack holds the inverse of every change ADD made so far; on failure
// they run newest first, and every one runs even if another fails.
type undoStack struct {
	steps []undoStep
}

type undoStep struct {
	what string
	do   func() error
	// onlyIfClean: run only when every newer step succeeded. Removing
	// the state record is such a step: while anything ADD changed may
	// still be in place, the record is DEL's only memory of it.
	onlyIfClean bool
}

func (u *undoStack) push(what string, do func() error) {
	u.steps = append(u.steps, undoStep{what: what, do: do})
}

func (u *undoStack) pushIfClean(what string, do func() error) {
	u.steps = append(u.steps, undoStep{what: what, do: do, onlyIfClean: true})
}

func (u *undoStack) run(log *logger) error {
	var errs []error
	for i := len(u.steps) - 1; i >= 0; i-- {
		s := u.steps[i]
		if s.onlyIfClean && len(errs) > 0 {
			log.Errorf("undo: not done: %s, as an undo step above failed", s.what)
			errs = append(errs, fmt.Errorf("not done: %s, so that DEL can finish the cleanup", s.what))
			continue
		}
		if err := s.do(); err != nil {
			log.Errorf("undo %s: %v", s.what, err)
			errs = append(errs, fmt.Errorf("%s: %w", s.what, err))
		}
	}
	u.steps = nil
	return errors.Join(errs...)
}
