//! The first-run page's "Bring back my data" with a file, in a real browser: a fresh install
//! gets an off-site copy and its emergency kit through the file fields, then A's user signs in
//! and sees A's data.

use fantoccini::Locator;

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_install_brings_the_shop_back_from_a_copy_and_its_kit_in_a_browser() {
    let Some((_driver, browser)) = start_browser().await else {
        return;
    };
    let files = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    let (a_dump, copy_file, kit_file) = outside_async(|| {
        let a = spawn_app();
        let (dump, copy, kit) = crate::bring_in::install_a(&a, target.path());
        let copy_file = files.path().join(format!("{copy}.db.zst.age"));
        std::fs::copy(target.path().join(format!("{copy}.db.zst.age")), &copy_file).unwrap();
        let kit_file = files.path().join("backroom-emergency-kit.txt");
        std::fs::write(&kit_file, kit).unwrap();
        (dump, copy_file, kit_file)
    });
    let b = outside_async(spawn_app);
    browser.goto(&b.url).await.unwrap();
    wait_for(&browser, "#bring-back-file").await;
    save_screenshot(&browser, "first-run-bring-back.png").await;
    type_into(&browser, "#bring-file", copy_file.to_str().unwrap()).await;
    type_into(&browser, "#bring-kit", kit_file.to_str().unwrap()).await;
    click(
        &browser,
        Locator::Css("#bring-back-file button[type=submit]"),
    )
    .await;
    // Checked and added: its numbers come first, then the data is put in place.
    wait_for(&browser, "#confirm-file").await;
    let text = page_text(&browser).await;
    assert!(text.contains("Bring back this data?"), "{text}");
    save_screenshot(&browser, "first-run-confirm.png").await;
    click(&browser, Locator::Css("#confirm-file button[type=submit]")).await;
    // The first-run page has a #username too: wait for the login page's message.
    wait_for(&browser, ".flash-ok").await;
    let text = page_text(&browser).await;
    assert!(text.contains("Your data is back"), "{text}");
    assert!(
        text.contains("Sign in with your account from before"),
        "{text}"
    );
    type_into(&browser, "#username", "super-admin-user").await;
    type_into(&browser, "#password", PASSWORD).await;
    click(&browser, Locator::Css("form button[type=submit]")).await;
    wait_for(&browser, "nav.sidebar").await;
    browser
        .goto(&format!("{}/products?q=BB-1", b.url))
        .await
        .unwrap();
    let text = page_text(&browser).await;
    assert!(text.contains("Brought back tea"), "{text}");
    let b_dump = outside_async(|| canonical_dump_sha(&b.db_path()));
    assert_eq!(b_dump, a_dump);
    browser.close().await.unwrap();
    outside_async(move || drop(b));
}
