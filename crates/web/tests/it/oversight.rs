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

#[tokio::test]
async fn a_province_dashboard_shows_stored_figures_equal_to_a_live_count_and_says_when() {
    let app = TestApp::spawn().await;
    let (g, _) = web::demo::load_province(
        &app.db,
        db::oversight::ProvinceScale {
            schools: 60,
            students_per_school: 3,
        },
    )
    .await
    .unwrap();
    let province = app.db.unit(g.province_id).await.unwrap();
    // The principal of the first school signs in: counted by the next refresh.
    app.login(&format!(
        "{}.ht",
        app.db.school(g.school_ids[0]).await.unwrap().code
    ))
    .await;
    let counted = web::pages::oversight::refresh_if_due(&app.db, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert!(
        counted.is_some_and(|(n, _)| n >= 60),
        "every school is counted"
    );
    // Nothing to do right after a count.
    assert_eq!(
        web::pages::oversight::refresh_if_due(&app.db, web::pages::oversight::REFRESH_EVERY)
            .await
            .unwrap(),
        None
    );
    let stored = app
        .db
        .coverage_snapshot_within(&province.path)
        .await
        .unwrap();
    assert!(
        stored
            .computed_at
            .is_some_and(|at| db::now_ms() - at < 60_000)
    );
    let live = app.db.coverage_within(&province.path).await.unwrap();
    assert_eq!(stored.figures.len(), 60);
    for id in &g.school_ids {
        assert_eq!(
            stored.figures[id],
            live.get(id).cloned().unwrap_or_default(),
            "{id}"
        );
        assert_eq!(stored.figures[id], app.db.coverage(*id).await.unwrap());
    }
    assert!(stored.figures[&g.school_ids[0]].staff_active_7 >= 1);

    // A school opened after the count is counted on the view itself.
    let commune = app.db.unit(g.commune_id).await.unwrap();
    let new = app
        .db
        .create_school(
            &commune,
            "99NEW01",
            "Trường THCS Mới Mở",
            domain::tree::SchoolLevel::LowerSecondary,
            "",
        )
        .await
        .unwrap();
    let so = app.login("so.quymo").await;
    let page = app
        .get(&so, &format!("/units/{}/coverage", province.id))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("data-rag=").count(), 61);
    assert!(page.contains(&format!("/schools/{}", new.id)));
    assert!(
        page.contains("data-figures-stored"),
        "the page says the figures are stored and how fresh they are"
    );
    // A commune of nine schools is counted live, without that note.
    let page = app
        .get(&so, &format!("/units/{}/coverage", commune.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.matches("data-rag=").count() >= 9);
    assert!(!page.contains("data-figures-stored"));
}
