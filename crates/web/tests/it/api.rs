//! The JSON API: same sessions, same authorization, JSON errors.

use crate::harness::TestApp;
use serde_json::{Value, json};

#[tokio::test]
async fn school_set_up_through_the_api() {
    let app = TestApp::spawn().await;
    let id = app.school_id("37THCSGV").await;
    let principal = app.login("ht.thcs").await;

    // Years: bad dates name the field; good ones create the year.
    let r = principal
        .post(app.url(&format!("/api/v1/schools/{id}/years")))
        .json(&json!({"start": "05/09/2027", "term1_end": "2028-02-30", "term2_start": "19/01/2028", "end": "25/05/2028"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "bad_request");
    assert!(body["message"].as_str().unwrap().contains("học kỳ I"));
    let r = principal
        .post(app.url(&format!("/api/v1/schools/{id}/years")))
        .json(&json!({"start": "2027-09-05", "term1_end": "15/01/2028", "term2_start": "17/01/2028", "end": "25/05/2028"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let years: Vec<Value> = app
        .get(&principal, &format!("/api/v1/schools/{id}/years"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(years.len(), 2);

    // Classes: the principal creates one; a teacher is refused; a wrong grade is explained.
    let r = principal
        .post(app.url(&format!("/api/v1/schools/{id}/classes")))
        .json(&json!({"name": "9 a5", "grade": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "9A5");
    let teacher = app.login("gv.toan").await;
    let r = teacher
        .post(app.url(&format!("/api/v1/schools/{id}/classes")))
        .json(&json!({"name": "9A6", "grade": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "forbidden");
    let r = principal
        .post(app.url(&format!("/api/v1/schools/{id}/classes")))
        .json(&json!({"name": "12A", "grade": 12}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Student status.
    let students: Vec<Value> = app
        .get(&principal, &format!("/api/v1/schools/{id}/students"))
        .await
        .json()
        .await
        .unwrap();
    let sid = students[0]["id"].as_str().unwrap();
    let r = principal
        .post(app.url(&format!("/api/v1/schools/{id}/students/{sid}/status")))
        .json(&json!({"status": "transferred_out"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = principal
        .post(app.url(&format!("/api/v1/schools/{id}/students/{sid}/status")))
        .json(&json!({"status": "deleted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn roster_import_through_the_api_is_all_or_nothing() {
    let app = TestApp::spawn().await;
    let id = app.school_id("37THCSGV").await;
    let principal = app.login("qt.thcs").await;
    let file = |dob: &str| {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["Lớp", "Mã học sinh", "Họ và tên", "Ngày sinh", "Giới tính"]
            .iter()
            .enumerate()
        {
            ws.write(0, c as u16, *h).unwrap();
        }
        for (c, v) in ["8A9", "API00001", "Đỗ Thị Hạnh", "01/01/2012", "Nữ"]
            .iter()
            .enumerate()
        {
            ws.write(1, c as u16, *v).unwrap();
        }
        for (c, v) in ["8A9", "API00002", "Đỗ Văn Hùng", dob, "Nam"]
            .iter()
            .enumerate()
        {
            ws.write(2, c as u16, *v).unwrap();
        }
        wb.save_to_buffer().unwrap()
    };
    let url = app.url(&format!("/api/v1/schools/{id}/roster"));
    let r = principal
        .post(&url)
        .body(file("32/01/2012"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let errors: Vec<Value> = r.json().await.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["row"], 3);
    assert!(
        app.db
            .student_by_code(id.parse().unwrap(), "API00001")
            .await
            .unwrap()
            .is_none()
    );

    let r = principal
        .post(format!("{url}?dry_run=true"))
        .body(file("02/01/2012"))
        .send()
        .await
        .unwrap();
    let result: Value = r.json().await.unwrap();
    assert_eq!(
        (result["rows"].as_u64(), result["written"].as_bool()),
        (Some(2), Some(false))
    );
    assert!(
        app.db
            .student_by_code(id.parse().unwrap(), "API00001")
            .await
            .unwrap()
            .is_none()
    );

    let result: Value = principal
        .post(&url)
        .body(file("02/01/2012"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (result["created"].as_u64(), result["written"].as_bool()),
        (Some(2), Some(true))
    );
    let r = principal
        .post(&url)
        .body(b"PK garbage".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
