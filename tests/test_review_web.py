"""Review, dashboard and export pages over HTTP: roles, the decision, the surveyor's view."""

import pytest

from survey_node.db import surveys as survey_db

from .review_fixtures import complete_survey, seed_cameras, select_all


@pytest.fixture
def surveyed(db, config, users):
    ids = seed_cameras(db)
    select_all(db)
    moved = complete_survey(db, config, ids[0], offset=0.001)
    other = complete_survey(db, config, ids[3], verdict="timeout")
    return {"moved": moved, "other": other, "cameras": ids}


@pytest.mark.parametrize("path", ["/review/", "/dashboard", "/exports/",
                                  "/exports/download?format=csv"])
def test_a_surveyor_gets_403(client, auth, surveyed, path):
    auth.login("surveyor")
    assert client.get(path).status_code == 403


def test_a_surveyor_cannot_post_a_decision(client, auth, db, surveyed):
    auth.login("surveyor")
    sid = surveyed["moved"]["id"]
    response = client.post(f"/review/{sid}", data={"decision": "approved"})
    assert response.status_code == 403
    assert survey_db.get_survey(db, sid)["review_state"] is None


def test_queue_filters_and_compare_page(client, auth, surveyed):
    auth.login("supervisor")
    page = client.get("/review/").get_data(as_text=True)
    assert surveyed["moved"]["id"] in page and surveyed["other"]["id"] in page
    page = client.get("/review/?verdict=failed").get_data(as_text=True)
    assert surveyed["other"]["id"] in page and surveyed["moved"]["id"] not in page
    page = client.get(f"/review/{surveyed['moved']['id']}").get_data(as_text=True)
    assert 'data-key="position" data-differs="1"' in page.replace('class="differs" ', "")
    assert 'id="review-map"' in page and "data-eph=\"3.5\"" in page
    assert "1920×1080" in page and "rtsp://***@127.0.0.1" in page and "admin:pw" not in page
    assert page.count("/evidence/") == 2  # the photo, and the stream's snapshot
    # The check's numbers say what they are and where the verdict's line was drawn.
    import re

    text = re.sub(r"<[^>]+>", "", page)
    assert "97 จาก 255" in text and "ต่ำกว่า 16 ถือว่าภาพดำ" in text
    assert "4.2 · ต่ำกว่า 0.3 ถือว่าภาพค้าง" in text and "310 · ต่ำกว่า 20 ถือว่าภาพเบลอ" in text


def test_resurvey_reaches_the_surveyor(client, auth, db, surveyed):
    sid = surveyed["moved"]["id"]
    auth.login("supervisor")
    response = client.post(f"/review/{sid}", data={
        "decision": "resurvey", "reason": "ถ่ายรูปป้ายหน่วยงาน", "flags": ["camera_moved"],
        "back": "/review/?status=pending"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/review/?status=pending")
    auth.logout()
    auth.login("surveyor")
    item = next(i for i in client.get("/api/v1/worklist?show=all").get_json()["items"]
                if i["camera_id"] == surveyed["cameras"][0])
    assert item["survey_state"] == "resurvey"
    assert item["survey"]["review_reason"] == "ถ่ายรูปป้ายหน่วยงาน"
    survey = client.get(f"/api/v1/surveys/{sid}").get_json()
    assert survey["state"] == "draft" and survey["review_reason"] == "ถ่ายรูปป้ายหน่วยงาน"


def test_a_decision_without_reason_is_refused_in_thai(client, auth, surveyed):
    auth.login("supervisor")
    response = client.post(f"/review/{surveyed['moved']['id']}", data={"decision": "rejected"})
    assert response.status_code == 400
    assert 'data-testid="review-error"' in response.get_data(as_text=True)


def test_dashboard_draws_the_numbers(client, auth, surveyed):
    auth.login("supervisor")
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'data-code="3001" data-selected="2" data-surveyed="1"' in page
    assert 'data-key="timeout" data-count="1"' in page and "ไม่ตอบสนอง" in page
    assert 'data-share="0.5"' in page


def test_csv_download_and_sheet(client, auth, surveyed):
    auth.login("supervisor")
    response = client.get("/exports/download?format=csv&scope=surveyed")
    assert response.status_code == 200
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf") and body.decode("utf-8-sig").count("\n") == 3
    xlsx = client.get("/exports/download?format=xlsx&scope=selected&amphoe=3021")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    import io

    import openpyxl

    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.get_data()))["กล้อง"].iter_rows(values_only=True))
    assert sorted(r[0] for r in rows[1:]) == ["NMA-003", "NMA-004"]
    assert client.get("/exports/download?format=pdf&amphoe=3021").headers["Location"].startswith("/exports/sheets")
    sheet = client.get(f"/exports/sheet/{surveyed['moved']['id']}").get_data(as_text=True)
    assert "แยกหัวทะเล" in sheet and "<svg" in sheet and "@page" in sheet


def test_district_sheets_print_every_surveyed_camera_of_the_district(client, auth, surveyed):
    auth.login("supervisor")
    page = client.get("/review/?amphoe=3021").get_data(as_text=True)
    assert "/exports/sheets?scope=surveyed&amp;amphoe=3021" in page
    sheets = client.get("/exports/sheets?scope=surveyed&amphoe=3021").get_data(as_text=True)
    assert sheets.count('<section class="sheet"') == 1 and "สี่แยกปากช่อง" in sheets
    assert client.get("/exports/sheets?scope=approved&amphoe=3021").status_code == 400


def test_a_new_camera_report_can_be_reviewed_and_printed(client, auth, db, config, surveyed):
    from survey_node import survey as survey_svc

    from .review_fixtures import SURVEYOR, store_photo

    s = survey_svc.report_new_camera(db, config, user=SURVEYOR, site_name="กล้องใหม่หน้าวัด",
                                     agency="อบต.")
    survey_svc.set_position(db, config, s["id"], user=SURVEYOR, source="gpsd",
                            fix={"lat": 14.9, "lon": 102.0, "eph": 4.0, "fix_mode": 3})
    survey_svc.add_photo(db, config, s["id"], user=SURVEYOR, sha256=store_photo(db, config),
                         role="camera")
    survey_svc.save_answers(db, config, s["id"], user=SURVEYOR,
                            checklist={"exists": "yes", "working": "yes"})
    survey_svc.complete(db, config, s["id"], user=SURVEYOR)
    auth.login("supervisor")
    assert "กล้องใหม่หน้าวัด" in client.get("/review/").get_data(as_text=True)
    page = client.get(f"/review/{s['id']}")
    assert page.status_code == 200 and "กล้องใหม่หน้าวัด" in page.get_data(as_text=True)
    sheet = client.get(f"/exports/sheet/{s['id']}")
    assert sheet.status_code == 200 and "กล้องใหม่หน้าวัด" in sheet.get_data(as_text=True)
    done = client.post(f"/review/{s['id']}", data={"decision": "approved", "flags": ["new_camera"]})
    assert done.status_code == 302
