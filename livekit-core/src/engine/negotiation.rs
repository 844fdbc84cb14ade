//! Publisher renegotiation: one offer in flight at a time. A track added while an offer waits
//! for its answer needs another offer once that answer is in. Pure: the engine asks and obeys.

#[derive(Debug, Default)]
pub(crate) struct Negotiation {
    offer_in_flight: bool,
    again: bool,
    /// The next offer must restart ICE (new credentials, fresh candidate pairs).
    ice_restart: bool,
}

impl Negotiation {
    /// The local description changed (a track was added or removed). True: create and send an
    /// offer now. False: one is in flight; another follows its answer.
    pub fn request(&mut self) -> bool {
        if self.offer_in_flight {
            self.again = true;
            false
        } else {
            self.offer_in_flight = true;
            true
        }
    }

    /// ICE has to start over: like `request`, and the next offer created restarts ICE.
    pub fn request_ice_restart(&mut self) -> bool {
        self.ice_restart = true;
        self.request()
    }

    /// Whether the offer being created now restarts ICE; asking consumes the request.
    pub fn take_ice_restart(&mut self) -> bool {
        std::mem::take(&mut self.ice_restart)
    }

    /// The offer could not be created, so none is in flight; a change still waiting keeps its
    /// claim on the next one.
    pub fn on_offer_failed(&mut self) {
        self.offer_in_flight = false;
    }

    /// The answer to the offer in flight arrived. True: send another offer now (something
    /// changed meanwhile); it is in flight from then on.
    pub fn on_answer(&mut self) -> bool {
        self.offer_in_flight = std::mem::take(&mut self.again);
        self.offer_in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_offer_at_a_time_and_one_more_for_changes_meanwhile() {
        let mut negotiation = Negotiation::default();
        assert!(negotiation.request(), "the first change offers at once");
        assert!(!negotiation.request(), "a second change waits for the answer");
        assert!(!negotiation.request(), "and a third folds into the same next offer");
        assert!(negotiation.on_answer(), "the answer releases one more offer");
        assert!(!negotiation.on_answer(), "whose answer needs nothing more");
        assert!(negotiation.request(), "later changes offer at once again");
    }

    #[test]
    fn an_ice_restart_rides_on_the_next_offer_once() {
        let mut negotiation = Negotiation::default();
        assert!(negotiation.request());
        assert!(!negotiation.request_ice_restart(), "an offer is in flight: the restart waits for its answer");
        assert!(negotiation.on_answer());
        assert!(negotiation.take_ice_restart(), "the follow-up offer restarts ICE");
        assert!(!negotiation.take_ice_restart(), "and only that one");
        assert!(!negotiation.on_answer());
        assert!(negotiation.request_ice_restart(), "with nothing in flight the restart offers at once");
        assert!(negotiation.take_ice_restart());
    }

    #[test]
    fn a_failed_offer_leaves_nothing_in_flight() {
        let mut negotiation = Negotiation::default();
        assert!(negotiation.request_ice_restart());
        negotiation.on_offer_failed();
        assert!(negotiation.request_ice_restart(), "the next attempt offers at once instead of waiting forever");
    }

    #[test]
    fn an_answer_without_changes_meanwhile_ends_negotiation() {
        let mut negotiation = Negotiation::default();
        assert!(negotiation.request());
        assert!(!negotiation.on_answer());
        assert!(negotiation.request());
    }
}
