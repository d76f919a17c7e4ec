"""How knowledge text and queries are cut into words (jieba) before the database matches them."""

from dealercrm.adapters.search.chinese import index_terms, query_terms


def test_a_query_is_cut_into_the_words_the_index_holds():
    indexed = set(index_terms("自卸车举升缓慢", "液压油不足或油泵磨损导致举升缓慢。").split())

    assert query_terms("液压举升") == ["液压", "举升"]
    assert set(query_terms("液压举升")) <= indexed


def test_trade_words_stay_whole_and_their_parts_are_indexed_too():
    assert query_terms("举升缸保养") == ["举升", "举升缸", "保养"]  # the lone 缸 is dropped
    assert {"呼吸", "呼吸阀", "阀"} <= set(index_terms("检查呼吸阀密封圈").split())


def test_a_single_character_query_is_kept_and_punctuation_never_becomes_a_term():
    assert query_terms("阀") == ["阀"]
    assert query_terms("%") == [] and query_terms('" OR *') == ["or"]
    assert "。" not in index_terms("更换。").split()


def test_latin_letters_match_in_any_case():
    assert query_terms("o型圈") == query_terms("O型圈") == ["o型"]
    assert query_terms("Leak") == ["leak"]
