//! The coverage dashboard of the Sở and communes.

use crate::harness::TestApp;

#[tokio::test]
async fn officers_see_the_coverage_of_the_schools_below_them() {
    let app = TestApp::spawn().await;
    let units = app.db.units().await.unwrap();
    let province = units.iter().find(|u| u.code == "37").unwrap();
    let commune = units.iter().find(|u| u.code == "GV").unwrap();
    // Two teachers of THCS Gia Viễn use lophoc; nobody at the other commune school does.
    app.login("gv.toan").await;
    app.login("tt.toan").await;
    let thcs = app.db.school_by_code("37THCSGV").await.unwrap();
    let c = app.db.coverage(thcs.id).await.unwrap();
    assert!(c.deployed);
    assert_eq!(c.staff_active_30, 2);
    assert_eq!(c.students, 72);

    let officer = app.login("xa.canbo").await;
    let page = app
        .get(&officer, &format!("/units/{}/coverage", commune.id))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        page.matches("data-rag=").count(),
        2,
        "the commune's two schools"
    );
    assert!(page.contains("data-rag=\"red\"") && page.contains("<svg"));
    assert!(page.contains("2/7"), "2 of 7 staff active at THCS Gia Viễn");
    assert_eq!(
        app.get(&officer, &format!("/units/{}/coverage", province.id))
            .await
            .status(),
        403
    );

    let so = app.login("so.chuyenvien").await;
    let page = app
        .get(&so, &format!("/units/{}/coverage", province.id))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("data-rag=").count(), 6);
    let bytes = app
        .get(&so, &format!("/units/{}/coverage.xlsx", province.id))
        .await
        .bytes()
        .await
        .unwrap();
    use calamine::Reader;
    let mut wb =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range("Độ phủ").unwrap();
    assert_eq!(
        range.height(),
        3 + 1 + 6,
        "two title lines, a blank, the header and six schools"
    );

    for login in ["ht.thcs", "gv.toan", "0912000001"] {
        let c = app.login(login).await;
        assert_eq!(
            app.get(&c, &format!("/units/{}/coverage", commune.id))
                .await
                .status(),
            403,
            "{login}"
        );
    }
}

#[tokio::test]
async fn the_grouped_dashboard_figures_equal_the_per_school_ones() {
    let app = TestApp::spawn().await;
    app.login("gv.toan").await;
    app.login("hs.demo").await;
    let all = app.db.coverage_within("/").await.unwrap();
    let schools = app.db.schools_within("/").await.unwrap();
    assert!(schools.len() > 3);
    for s in &schools {
        let one = app.db.coverage(s.id).await.unwrap();
        assert_eq!(
            all.get(&s.id).cloned().unwrap_or_default(),
            one,
            "{}",
            s.code
        );
    }
    assert!(
        all.values()
            .any(|c| c.students_active_30 > 0 && c.materials > 0)
    );
}
