# Families: what a parent sees on the child's page.
exam-child-title = Tests
exam-child-upcoming = Opens soon
exam-child-open = Open, not taken yet
exam-child-started = In progress
exam-child-done = Handed in
exam-child-missed = Closed, not taken
