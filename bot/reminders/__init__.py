"""Deadline reminders: who is told what, on which working day, sent once."""
