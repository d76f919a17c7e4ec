"""Demo community (issue 21 §2): questions from dealers and a service station answered by the
factory and by each other — two accepted answers, one of them already a knowledge article — a
regulations post, likes, and a locked thread."""

from __future__ import annotations

from typing import Any

from dealercrm.entrypoints.demo_messages import _principal

#: (asker, topic, title, body, [(answerer, answer)], index of the accepted answer or None)
QUESTIONS = (
    ("dealer05", "fault_tank", "罐车呼吸阀漏油，换了密封圈还是漏",
     "客户的 10 方油罐车行驶中呼吸阀处渗油，已经更换密封圈，跑了两天又开始漏，怎么处理？",
     [("technical", "先检查呼吸阀阀座有没有变形，阀座变形换密封圈没用，需要更换呼吸阀总成（配件号 HX-0231）。"),
      ("station_zz", "我们站上个月遇到过同样的情况，阀座变形，换总成后没再漏。")], 0),
    ("dealer09", "dump_truck", "自卸车举升缓慢是什么原因",
     "冬天早上举升特别慢，中午就正常了，液压油是去年换的。",
     [("aftersales", "多半是液压油低温黏度太高，换用低温液压油（-25 号），并检查吸油滤网是否堵塞。")], 0),
    ("station_zz", "semi_trailer", "半挂车制动气室更换后跑偏",
     "更换左后制动气室后试车向左跑偏，各位有什么经验？",
     [("technical", "检查推杆行程，两侧调整臂要调到一致，新气室推杆长度可能与旧件不同。")], None),
)


def seed_community(container: Any) -> None:
    """Needs the demo's users; a question whose asker is missing is left out."""
    svc = container.community
    people = {name: _principal(container, name) for name in
              ("dealer05", "dealer09", "station_zz", "technical", "aftersales", "marketing", "procurement")}
    for asker, topic, title, body, answers, accepted in QUESTIONS:
        who = people.get(asker)
        if who is None:
            continue
        pid = svc.ask(who, kind="question", topic=topic, title=title, body=body)
        ids = [svc.answer(people[a], pid, text) for a, text in answers if people.get(a) is not None]
        if accepted is not None and accepted < len(ids):
            svc.accept(who, pid, ids[accepted])
            for liker in ("dealer09", "station_zz", "procurement"):
                if people.get(liker) is not None and liker != asker:
                    svc.like_answer(people[liker], ids[accepted])
    marketing = people.get("marketing")
    if marketing is not None:
        first = svc.posts(marketing, q="呼吸阀")[0]
        if first and first[0].accepted_answer_id is not None:
            svc.to_article(marketing, first[0].accepted_answer_id)
        notice = svc.ask(marketing, kind="post", topic="regulations", title="GB 1589 挂车外廓尺寸要求提醒",
                         body="各经销商在接单时请核对挂车总长与轴荷，超限车辆无法上牌。详细条款见知识库法规栏目。")
        svc.moderate_post(marketing, notice, locked=True)
