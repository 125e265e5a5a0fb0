# Families: what a parent sees on the child's page.
exam-child-title = Bài kiểm tra
exam-child-upcoming = Sắp mở
exam-child-open = Đang mở, chưa làm
exam-child-started = Đang làm
exam-child-done = Đã nộp bài
exam-child-missed = Đã đóng, không làm
